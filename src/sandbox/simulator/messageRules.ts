import { WeChatApiError, asRecord, commonErrors } from './WeChatApiError';

const CUSTOM_MESSAGE_TYPES = new Set([
  'text',
  'image',
  'voice',
  'video',
  'music',
  'news',
  'mpnews',
  'mpnewsarticle',
  'msgmenu',
  'wxcard',
  'miniprogrampage',
]);
/** 客服 news carry a single article since 2018-10-12. */
const MAX_CUSTOM_NEWS_ARTICLES = 1;

/** A send request that passed WeChat's checks, ready for the outbox. */
export interface AcceptedMessage {
  touser: string;
  body: Record<string, unknown>;
}

/** /cgi-bin/message/custom/send: `{touser, msgtype, <msgtype>: {...}}`. */
export function validateCustomMessage(value: unknown, isKnownOpenId: (openid: string) => boolean): AcceptedMessage {
  const body = asRecord(value);
  if (!body) throw commonErrors.dataFormat();
  const touser = recipient(body, isKnownOpenId);
  const msgtype = body.msgtype;
  if (typeof msgtype !== 'string' || !CUSTOM_MESSAGE_TYPES.has(msgtype)) {
    throw new WeChatApiError(40008, 'invalid message type');
  }
  if (msgtype === 'text') {
    const content = asRecord(body.text)?.content;
    if (typeof content !== 'string' || content.length === 0) throw new WeChatApiError(44004, 'empty content');
  }
  if (msgtype === 'news') {
    const articles = asRecord(body.news)?.articles;
    if (!Array.isArray(articles) || articles.length === 0) throw new WeChatApiError(44003, 'empty news data');
    if (articles.length > MAX_CUSTOM_NEWS_ARTICLES) throw new WeChatApiError(45008, 'article size out of limit');
  }
  return { touser, body };
}

/** /cgi-bin/message/template/send: `{touser, template_id, url?, miniprogram?, data}`. */
export function validateTemplateMessage(value: unknown, isKnownOpenId: (openid: string) => boolean): AcceptedMessage {
  const body = asRecord(value);
  if (!body) throw commonErrors.dataFormat();
  const touser = recipient(body, isKnownOpenId);
  if (typeof body.template_id !== 'string' || body.template_id.length === 0) {
    throw new WeChatApiError(40037, 'invalid template_id');
  }
  if (body.data !== undefined && !asRecord(body.data)) throw commonErrors.dataFormat();
  return { touser, body };
}

function recipient(body: Record<string, unknown>, isKnownOpenId: (openid: string) => boolean): string {
  const touser = body.touser;
  if (typeof touser !== 'string' || !isKnownOpenId(touser)) throw commonErrors.invalidOpenId();
  return touser;
}
