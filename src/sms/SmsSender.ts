import type { SmsPurpose } from './SmsPurpose';

export interface SmsMessage {
  /** Mainland mobile number, 11 digits, no country code. */
  phone: string;
  code: string;
  purpose: SmsPurpose;
  /** The full text, for senders that send or show text rather than a provider template. */
  text: string;
}

/** Delivers one verification-code SMS; rejects when the provider refuses it. */
export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}
