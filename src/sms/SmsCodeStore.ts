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
  /** Digest of who asked for the code (SmsSubjectDigest.requester): only their checks find it. */
  ownerDigest: string;
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
  /** Who is checking: only the code this owner asked for is compared and counted. */
  ownerDigest: string;
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
   * reached; otherwise stores the code (replacing the earlier one of this phone + purpose + owner;
   * other owners' codes stay as they are), closes the gate for resendAfterMs and records the send.
   */
  issue(request: SmsCodeIssue): Promise<SmsCodeIssueResult>;
  /**
   * 'ok' once for the code stored for phone + purpose + owner, which is then gone; 'wrong' counts
   * a try and the try that reaches maxWrongTries voids the code; 'expired' when this owner has no
   * live code (never asked, expired, used or voided), whatever codes other owners hold: a stranger's
   * candidates never reach, count against or void someone else's code. The comparison must take the
   * same time wherever the candidate differs.
   */
  check(request: SmsCodeCheck): Promise<'ok' | 'wrong' | 'expired'>;
}
