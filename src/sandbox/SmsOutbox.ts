/** An SMS as the sandbox phone would receive it. */
export interface OutboxSms {
  phone: string;
  /** The verification code it carries; null for a notice without one (the account-exists SMS). */
  code: string | null;
  text: string;
  sentAt: Date;
}

// Enough for any test or demo session; older messages drop off so a long-running sandbox stays small.
const DEFAULT_CAPACITY = 1000;

/**
 * The sandbox's SMS inbox (`SANDBOX=1` only): what the console sender "sent", kept in this process's
 * memory. With several instances each keeps its own, so a sandbox runs one instance.
 */
export class SmsOutbox {
  private readonly messages: OutboxSms[] = [];

  constructor(private readonly capacity: number = DEFAULT_CAPACITY) {}

  add(message: OutboxSms): void {
    this.messages.push({ ...message });
    if (this.messages.length > this.capacity) this.messages.splice(0, this.messages.length - this.capacity);
  }

  /** The messages sent to `phone`, oldest first. */
  forPhone(phone: string): OutboxSms[] {
    return this.messages.filter((m) => m.phone === phone).map((m) => ({ ...m }));
  }
}
