import { randomBytes } from 'node:crypto';
import { Builder } from 'xml2js';
import type { MessageCipher } from './MessageCipher';
import type { Reply } from './Reply';
import { wechatSignature } from './signature';

// Replies are written here rather than by co-wechat, whose template puts CreateTime in
// milliseconds and pastes text into CDATA unescaped (a `]]>` in user text would end the section).
// xml2js' builder splits `]]>` across two CDATA sections.
const builder = new Builder({ rootName: 'xml', headless: true, cdata: true, renderOpts: { pretty: false } });

export class ReplyWriter {
  constructor(private readonly token: string) {}

  /** The plaintext reply document, or `success` when there is nothing to send. */
  write(reply: Reply, toUser: string, fromAccount: string, nowSeconds: number): string {
    if (reply.kind === 'success') return 'success';
    const head = { ToUserName: toUser, FromUserName: fromAccount, CreateTime: nowSeconds };
    if (reply.kind === 'text') {
      return builder.buildObject({ ...head, MsgType: 'text', Content: reply.content });
    }
    return builder.buildObject({
      ...head,
      MsgType: 'news',
      ArticleCount: reply.articles.length,
      Articles: {
        item: reply.articles.map((a) => ({
          Title: a.title,
          Description: a.description,
          PicUrl: a.picUrl ?? '',
          Url: a.url,
        })),
      },
    });
  }

  /** Wraps a reply document in the safe-mode envelope with a fresh nonce; `success` stays plain. */
  encrypt(document: string, cipher: MessageCipher, nowSeconds: number): string {
    if (document === 'success') return document;
    const encrypted = cipher.encrypt(document);
    const timestamp = String(nowSeconds);
    const nonce = String(randomBytes(4).readUInt32BE(0));
    return builder.buildObject({
      Encrypt: encrypted,
      MsgSignature: wechatSignature(this.token, timestamp, nonce, encrypted),
      TimeStamp: timestamp,
      Nonce: nonce,
    });
  }
}
