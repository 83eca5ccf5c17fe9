import createHttpError from 'http-errors';

/** A push from WeChat after parsing; every value is a string (MsgId is 64-bit, so never a number). */
export interface PushMessage {
  toUserName: string;
  fromUserName: string;
  createTime: string;
  msgType: string;
  event?: string;
  eventKey?: string;
  ticket?: string;
  content?: string;
  msgId?: string;
}

/** An openid (28 URL-safe base64 characters) or an account's original id (gh_…), with room to spare. */
const ADDRESS = /^[A-Za-z0-9_@.-]{1,128}$/;

const FIELDS: Record<keyof PushMessage, string> = {
  toUserName: 'ToUserName',
  fromUserName: 'FromUserName',
  createTime: 'CreateTime',
  msgType: 'MsgType',
  event: 'Event',
  eventKey: 'EventKey',
  ticket: 'Ticket',
  content: 'Content',
  msgId: 'MsgId',
};

/**
 * Reads the fields we use from co-wechat's parsed object, own properties only (a crafted element
 * named `__proto__` must not supply them), and refuses a push without its header fields.
 */
export function toPushMessage(parsed: unknown): PushMessage {
  const source = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const read = (name: string): string | undefined => {
    if (!Object.prototype.hasOwnProperty.call(source, name)) return undefined;
    const value = source[name];
    return typeof value === 'string' ? value : undefined;
  };
  const message: Partial<PushMessage> = {};
  for (const [field, element] of Object.entries(FIELDS) as [keyof PushMessage, string][]) {
    const value = read(element);
    if (value !== undefined) message[field] = value;
  }
  message.msgId ??= read('MsgID');
  for (const required of ['toUserName', 'fromUserName', 'createTime', 'msgType'] as const) {
    if (!message[required]) throw createHttpError(400, `push is missing ${FIELDS[required]}`, { code: 'invalid_push' });
  }
  if (!/^\d{1,12}$/.test(message.createTime!))
    throw createHttpError(400, 'CreateTime is not a Unix time', { code: 'invalid_push' });
  // They go back into the reply (swapped): an openid or a gh_ id, never characters XML cannot carry.
  for (const address of ['toUserName', 'fromUserName'] as const) {
    if (!ADDRESS.test(message[address]!))
      throw createHttpError(400, `${FIELDS[address]} is not a WeChat id`, { code: 'invalid_push' });
  }
  return message as PushMessage;
}
