import type { SmsPurpose } from './SmsPurpose';

/** A cap on sends per phone within a sliding window (any `windowMs` span, not calendar hours). */
export interface SmsSendCap {
  reason: 'hourly_limit' | 'daily_limit';
  limit: number;
  windowMs: number;
}

export interface SmsCodeIssue {
  /** Digest of the phone number (never the number itself; see SmsSubjectDigest). */
  phoneDigest: string;
  purpose: SmsPurpose;
  code: string;
  /** Clock time of this send, ms. */
  nowMs: number;
  /** Unique id of this send, recorded among the phone's sends. */
  sendId: string;
  codeTtlMs: number;
  /** No new code for this phone + purpose before this long after the last one. */
  resendAfterMs: number;
  /** Checked in order; the first one exceeded is the answer. Counted across purposes. */
  caps: SmsSendCap[];
}

export type SmsCodeIssueResult =
  { ok: true } | { ok: false; reason: 'resend_too_soon' | SmsSendCap['reason']; retryAfterMs: number };

export interface SmsCodeCheck {
  phoneDigest: string;
  purpose: SmsPurpose;
  candidate: string;
  nowMs: number;
  /** The code is voided by this many wrong candidates. */
  maxWrongTries: number;
}

/**
 * SMS codes and the phone's send history. Each method is one atomic step, whatever the
 * implementation (a Lua script in Redis; a synchronous block in memory), because the limits must
 * hold under concurrent requests from any number of instances.
 */
export interface SmsCodeStore {
  /**
   * Refuses, changing nothing, while the resend gate of phone + purpose is closed or a cap is
   * reached; otherwise stores the code (replacing the earlier one of this phone + purpose), closes
   * the gate for resendAfterMs and records the send.
   */
  issue(request: SmsCodeIssue): Promise<SmsCodeIssueResult>;
  /**
   * 'ok' once for the stored code, which is then gone; 'wrong' counts a try and the try that
   * reaches maxWrongTries voids the code; 'expired' when there is no live code (never sent,
   * expired, used or voided). The comparison must take the same time wherever the candidate differs.
   */
  check(request: SmsCodeCheck): Promise<'ok' | 'wrong' | 'expired'>;
}
