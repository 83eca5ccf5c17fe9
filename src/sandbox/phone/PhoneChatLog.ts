import type { Clock } from '../../clock/Clock';
import type { ChatMessage } from './ChatMessage';

/** What the log records; it adds the id and the time. */
export type NewChatMessage = Omit<ChatMessage, 'id' | 'at'>;

// A sandbox session never gets near this; it only keeps a long-running demo from growing forever.
const MAX_MESSAGES_PER_USER = 500;

/**
 * What only the phone saw of each chat: what the user typed or tapped and the passive replies the
 * pushes got (WeChat keeps these on the phone, not on any server). 客服 and template messages are
 * not here: they are read from the simulator's outbox. In memory, per process.
 */
export class PhoneChatLog {
  private readonly byOpenid = new Map<string, ChatMessage[]>();
  private sequence = 0;

  constructor(private readonly clock: Clock) {}

  add(openid: string, message: NewChatMessage): ChatMessage {
    this.sequence += 1;
    const stored: ChatMessage = { id: `phone-${this.sequence}`, at: this.clock.now(), ...message };
    const messages = this.byOpenid.get(openid) ?? [];
    messages.push(stored);
    if (messages.length > MAX_MESSAGES_PER_USER) messages.splice(0, messages.length - MAX_MESSAGES_PER_USER);
    this.byOpenid.set(openid, messages);
    return stored;
  }

  /** Oldest first. */
  messagesOf(openid: string): ChatMessage[] {
    return [...(this.byOpenid.get(openid) ?? [])];
  }
}
