import { createHash } from 'node:crypto';
import type { PushMessage } from './PushMessage';

/**
 * Messages are keyed by MsgId (WeChat's advice). Events have none: WeChat advises
 * FromUserName + CreateTime, to which Event and EventKey are added so that two different events
 * from one user in the same second (a SCAN and a CLICK, say) are not merged.
 */
export function pushDedupeKey(message: PushMessage): string {
  // Events may carry a MsgID of another id space (TEMPLATESENDJOBFINISH), so only messages use it.
  if (message.msgType !== 'event' && message.msgId) return `msg:${message.msgId}`;
  const parts = [
    message.fromUserName,
    message.createTime,
    message.msgType,
    message.event ?? '',
    message.eventKey ?? '',
  ];
  return `evt:${createHash('sha1').update(parts.join('\n')).digest('hex')}`;
}
