import type { MessageTemplate } from '../simulator/MessageTemplates';
import type { OutboxMessage } from '../simulator/WeChatSimulator';
import type { ChatMessage } from './ChatMessage';
import { outboxChatMessage } from './outboxChatMessage';

/**
 * The whole chat of one user in time order: the phone's own log (typed text, taps, passive replies)
 * merged with the 客服 and template messages the simulator's outbox holds for that openid. Equal
 * times keep the phone's lines first, since a push is sent before anything it causes.
 */
export function chatTimeline(
  openid: string,
  phoneLog: ChatMessage[],
  outbox: readonly OutboxMessage[],
  templates: (templateId: string) => MessageTemplate | undefined = () => undefined,
): ChatMessage[] {
  const sent = outbox.flatMap((message, index) =>
    message.touser === openid ? [outboxChatMessage(message, index, templates)] : [],
  );
  const ordered = [
    ...phoneLog.map((message, order) => ({ message, order })),
    ...sent.map((message, order) => ({ message, order: phoneLog.length + order })),
  ];
  ordered.sort((a, b) => a.message.at - b.message.at || a.order - b.order);
  return ordered.map(({ message }) => message);
}
