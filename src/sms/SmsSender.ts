import type { SmsPurpose } from './SmsPurpose';

interface SmsBase {
  /** Mainland mobile number, 11 digits, no country code. */
  phone: string;
  purpose: SmsPurpose;
  /** The full text, for senders that send or show text rather than a provider template. */
  text: string;
}

/**
 * One SMS: a verification code, or (实名注册, to a phone that already has an account) the notice
 * saying so and pointing to 实名绑定 and 忘记密码, sent in place of the code.
 */
export type SmsMessage = (SmsBase & { kind: 'code'; code: string }) | (SmsBase & { kind: 'account_exists' });

/** Delivers one SMS; rejects when the provider refuses it. */
export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}
