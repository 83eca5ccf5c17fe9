import { randomInt, randomUUID } from 'node:crypto';
import { looksLikeMobileNumber } from '../accounts/personalNumbers';
import type { Clock } from '../clock/Clock';
import { fixedWindow, type RateLimiter } from '../security/RateLimiter';
import type { SmsCodeStore, SmsSendCap } from './SmsCodeStore';
import { accountExistsText, smsCodeText } from './smsCodeText';
import type { SmsPurpose } from './SmsPurpose';
import { isSmsPurpose } from './SmsPurpose';
import type { SmsSender } from './SmsSender';
import type { SmsSubjectDigest } from './SmsSubjectDigest';

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
const CODE_TTL_MS = 5 * 60 * SECOND;
const RESEND_AFTER_SECONDS = 60;
const MAX_WRONG_TRIES = 5;
// Checked in this order: when both are reached, the longer wait is the one worth telling.
const PHONE_CAPS: SmsSendCap[] = [
  { reason: 'daily_limit', limit: 10, windowMs: DAY },
  { reason: 'hourly_limit', limit: 5, windowMs: HOUR },
];
const IP_WINDOW_SECONDS = 86400;
/**
 * Stored in place of the code when the account-exists notice went out instead: no candidate (6
 * digits, or '' for anything else) equals it, and it is as long as a code, so 注册 answers every try
 * as it answers a wrong code and the two phones cannot be told apart there either.
 */
const MATCHES_NOTHING = '------';
const DEFAULT_IP_DAILY_LIMIT = 50;

export type SmsSendRefusal = 'resend_too_soon' | 'hourly_limit' | 'daily_limit' | 'ip_daily_limit';
export type SmsSendResult =
  | { ok: true; resendAfterSeconds: typeof RESEND_AFTER_SECONDS }
  | { ok: false; reason: SmsSendRefusal; retryAfterSeconds: number };
export type SmsVerifyResult = 'ok' | 'wrong' | 'expired';
/** What the SMS says: the code, or (实名注册, to a phone that already has an account) that notice instead. */
export type SmsContent = 'code' | 'account_exists';

export interface SmsCodeServiceOptions {
  store: SmsCodeStore;
  rateLimiter: RateLimiter;
  sender: SmsSender;
  clock: Clock;
  subjects: SmsSubjectDigest;
  /** Sends per client IP per day (fixed UTC-aligned day window); default 50. */
  ipDailyLimit?: number;
}

/**
 * SMS verification codes: 6 digits from a CSPRNG, valid 5 minutes, single use,
 * tied to phone + purpose + requester (the WeChat user who asked for it: nobody else's tries can
 * use, count against or void it), voided by the requester's 5th wrong try; a new code for the same
 * phone + purpose after 60 s; at most 5 sends an hour and 10 a day per phone (any purpose); a daily
 * cap per IP.
 *
 * The image captcha that must precede every send is checked by the caller (the H5 route), which
 * holds the session the captcha belongs to; this service does not see it.
 */
export class SmsCodeService {
  private readonly ipDailyLimit: number;

  constructor(private readonly options: SmsCodeServiceOptions) {
    this.ipDailyLimit = options.ipDailyLimit ?? DEFAULT_IP_DAILY_LIMIT;
  }

  /**
   * Checks every limit first; a refused send changes no counter. Throws RangeError for a phone that
   * is not a mainland mobile number or an unknown purpose (the route validates both first), and
   * SmsDeliveryError when the provider fails, by which time the send has been counted.
   *
   * `content: 'account_exists'` sends the notice instead of a code through the very same limits,
   * store writes and answers, so the requester cannot tell which of the two went out.
   */
  async send(request: {
    phone: string;
    purpose: SmsPurpose;
    ip: string;
    requester: string;
    content?: SmsContent;
  }): Promise<SmsSendResult> {
    const { phone, purpose } = request;
    const content = request.content ?? 'code';
    requireValid(phone, purpose);
    const { clock, store, rateLimiter, subjects, sender } = this.options;
    const ipKey = `sms-ip:${subjects.ip(request.ip)}`;
    if ((await rateLimiter.peek(ipKey, IP_WINDOW_SECONDS)) >= this.ipDailyLimit) {
      const now = clock.now();
      const { endMs } = fixedWindow(now, IP_WINDOW_SECONDS);
      return { ok: false, reason: 'ip_daily_limit', retryAfterSeconds: Math.max(1, Math.ceil((endMs - now) / SECOND)) };
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const issued = await store.issue({
      phoneDigest: subjects.phone(phone),
      purpose,
      ownerDigest: subjects.requester(request.requester),
      code: content === 'code' ? code : MATCHES_NOTHING,
      nowMs: clock.now(),
      sendId: randomUUID(),
      codeTtlMs: CODE_TTL_MS,
      resendAfterMs: RESEND_AFTER_SECONDS * SECOND,
      caps: PHONE_CAPS,
    });
    if (!issued.ok)
      return {
        ok: false,
        reason: issued.reason,
        retryAfterSeconds: Math.max(1, Math.ceil(issued.retryAfterMs / SECOND)),
      };
    // Counted only once the phone's limits let the send through. Sends from one IP racing past the
    // peek above can take the IP over its cap by as many as are in flight; the per-phone limits,
    // which protect the recipient, are exact.
    await rateLimiter.hit(ipKey, this.ipDailyLimit, IP_WINDOW_SECONDS);
    await sender.send(
      content === 'code'
        ? { kind: 'code', phone, code, purpose, text: smsCodeText(code, purpose) }
        : { kind: 'account_exists', phone, purpose, text: accountExistsText() },
    );
    return { ok: true, resendAfterSeconds: RESEND_AFTER_SECONDS };
  }

  /**
   * 'ok' once for the code last sent to this phone for this purpose at this requester's request;
   * 'wrong' counts towards its 5 tries; 'expired' when the requester has no live code for it (none
   * asked for, expired, used, or voided), whoever else holds one.
   */
  async verify(request: {
    phone: string;
    purpose: SmsPurpose;
    code: string;
    requester: string;
  }): Promise<SmsVerifyResult> {
    requireValid(request.phone, request.purpose);
    const candidate = request.code.trim();
    const { subjects } = this.options;
    return this.options.store.check({
      phoneDigest: subjects.phone(request.phone),
      purpose: request.purpose,
      ownerDigest: subjects.requester(request.requester),
      // Anything but 6 digits is a wrong try too; it is sent as '' so the store compares fixed-size input.
      candidate: /^\d{6}$/.test(candidate) ? candidate : '',
      nowMs: this.options.clock.now(),
      maxWrongTries: MAX_WRONG_TRIES,
    });
  }
}

function requireValid(phone: string, purpose: SmsPurpose): void {
  if (!looksLikeMobileNumber(phone)) throw new RangeError('phone must be a mainland mobile number');
  if (!isSmsPurpose(purpose)) throw new RangeError('unknown SMS purpose');
}
