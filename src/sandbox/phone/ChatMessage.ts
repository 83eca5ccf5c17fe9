import type { TextSegment } from './textSegments';

/** Who a line of the chat comes from; `system` is the grey note WeChat shows in the middle. */
export type ChatSender = 'user' | 'account' | 'system';

/** How the line came about: typed text, a tap (event), a passive reply, a 客服 or template message. */
export type ChatSource = 'text' | 'event' | 'reply' | 'custom' | 'template';

/** A news article or a template message, shown as a card that opens `url`. */
export interface ChatCard {
  title: string;
  description: string;
  /** A template message's keywords as WeChat lists them: the template's label, then the value. */
  fields?: { label: string; value: string }[];
  url: string | null;
}

/** One line of the chat between a simulated user and 福建税务, as the phone shows it. */
export interface ChatMessage {
  /** Stable across polls, so the page can tell what is new. */
  id: string;
  /** Epoch ms. */
  at: number;
  from: ChatSender;
  source: ChatSource;
  segments: TextSegment[];
  card?: ChatCard;
}
