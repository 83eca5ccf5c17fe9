import { randomBytes } from 'node:crypto';
import { Builder, parseStringPromise } from 'xml2js';
import { systemClock, type Clock } from '../clock/Clock';
import { MessageCipher } from '../wechat/MessageCipher';
import { wechatSignature } from '../wechat/signature';

export type PushMode = 'plain' | 'compat' | 'safe';

export interface PushDriverOptions {
  token: string;
  appId: string;
  /** The Official Account's original id (gh_…), the ToUserName of every push. */
  accountId?: string;
  encodingAesKey?: string;
  mode?: PushMode;
  clock?: Clock;
}

/** A push as WeChat would send it: the query string and the XML body. */
export interface SignedPush {
  query: Record<string, string>;
  body: string;
}

export interface PushFields {
  MsgType: string;
  Event?: string;
  EventKey?: string;
  Ticket?: string;
  Content?: string;
  MsgId?: string;
  [element: string]: string | undefined;
}

const builder = new Builder({ rootName: 'xml', headless: true, cdata: true, renderOpts: { pretty: false } });

/**
 * Plays WeChat's side of the message push: builds event and message XML, signs it, encrypts it in
 * compatible and safe mode exactly as WeChat does, and reads (decrypting) the passive reply.
 */
export class PushDriver {
  private readonly cipher: MessageCipher | undefined;
  private readonly mode: PushMode;
  private readonly clock: Clock;
  readonly accountId: string;

  constructor(private readonly options: PushDriverOptions) {
    this.mode = options.mode ?? 'plain';
    this.clock = options.clock ?? systemClock;
    this.accountId = options.accountId ?? 'gh_0123456789ab';
    if (this.mode !== 'plain') {
      if (!options.encodingAesKey) throw new Error(`${this.mode} mode needs an EncodingAESKey`);
      this.cipher = new MessageCipher(options.encodingAesKey, options.appId);
    }
  }

  nowSeconds(): string {
    return String(Math.floor(this.clock.now() / 1000));
  }

  /** The XML of a push from `openid`; CreateTime defaults to now. */
  xml(openid: string, fields: PushFields, createTime = this.nowSeconds()): string {
    const ordered: Record<string, string> = {
      ToUserName: this.accountId,
      FromUserName: openid,
      CreateTime: createTime,
    };
    for (const [name, value] of Object.entries(fields)) if (value !== undefined) ordered[name] = value;
    return builder.buildObject(ordered);
  }

  event(openid: string, event: string, eventKey?: string, extra: Partial<PushFields> = {}): string {
    return this.xml(openid, { MsgType: 'event', Event: event, EventKey: eventKey ?? '', ...extra });
  }

  textMessage(openid: string, content: string, msgId = randomMsgId()): string {
    return this.xml(openid, { MsgType: 'text', Content: content, MsgId: msgId });
  }

  /** Signs (and in compat/safe mode encrypts) a push body, with a fresh nonce and the current time. */
  sign(xml: string, timestamp = this.nowSeconds(), nonce = String(randomBytes(4).readUInt32BE(0))): SignedPush {
    const query: Record<string, string> = {
      signature: wechatSignature(this.options.token, timestamp, nonce),
      timestamp,
      nonce,
    };
    const openid = /<FromUserName>(?:<!\[CDATA\[)?([^<\]]*)/.exec(xml)?.[1];
    if (openid) query.openid = openid;
    if (!this.cipher) return { query, body: xml };
    const encrypted = this.cipher.encrypt(xml);
    query.encrypt_type = 'aes';
    query.msg_signature = wechatSignature(this.options.token, timestamp, nonce, encrypted);
    const body =
      this.mode === 'safe'
        ? builder.buildObject({ ToUserName: this.accountId, Encrypt: encrypted })
        : xml.replace(/<\/xml>$/, `<Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`);
    return { query, body };
  }

  /** The URL-verification GET WeChat sends when the server URL is saved in the console. */
  verification(echostr: string, timestamp = this.nowSeconds()): Record<string, string> {
    const nonce = String(randomBytes(4).readUInt32BE(0));
    return { signature: wechatSignature(this.options.token, timestamp, nonce), timestamp, nonce, echostr };
  }

  /** POSTs a signed push to the endpoint URL. */
  async post(endpoint: string, push: SignedPush): Promise<{ status: number; body: string }> {
    const url = `${endpoint}?${new URLSearchParams(push.query).toString()}`;
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: push.body });
    return { status: response.status, body: await response.text() };
  }

  /**
   * Reads a passive reply as WeChat does: `success` or empty means nothing to show; an encrypted
   * envelope is checked (msg_signature) and decrypted. Returns the reply's elements.
   */
  async readReply(body: string): Promise<Record<string, string> | null> {
    if (body === '' || body === 'success') return null;
    let fields = await parseFlat(body);
    if (fields.Encrypt !== undefined) {
      if (!this.cipher) throw new Error('encrypted reply in plain mode');
      const expected = wechatSignature(this.options.token, fields.TimeStamp ?? '', fields.Nonce ?? '', fields.Encrypt);
      if (expected !== fields.MsgSignature) throw new Error('reply MsgSignature does not verify');
      const decrypted = this.cipher.decrypt(fields.Encrypt);
      if (decrypted.appId !== this.options.appId) throw new Error('reply encrypted for another AppID');
      fields = await parseFlat(decrypted.message);
    }
    return fields;
  }
}

async function parseFlat(xml: string): Promise<Record<string, string>> {
  const parsed = (await parseStringPromise(xml, { explicitArray: false })) as { xml: Record<string, unknown> };
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.xml))
    flat[key] = typeof value === 'string' ? value : JSON.stringify(value);
  return flat;
}

function randomMsgId(): string {
  // 64-bit ids: beyond 2^53, which is why they stay strings everywhere.
  return (BigInt(2) ** BigInt(62) + BigInt(`0x${randomBytes(7).toString('hex')}`)).toString();
}
