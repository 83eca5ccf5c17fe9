import { SubjectDigest } from '../security/SubjectDigest';
import type { FailureClaim, FailurePacing, LoginFailureStore } from './LoginFailureStore';
import { looksLikeIdNumber, looksLikeMobileNumber, normalizeIdNumber } from './personalNumbers';

export interface LoginThrottleLimits {
  /** Failures of one client on one identifier answered at once; from this many on, each try waits. */
  freeFailures: number;
  /** The wait after the freeFailures-th failure; it doubles with every further failure… */
  firstDelaySeconds: number;
  /** …up to this. */
  maxDelaySeconds: number;
  /** Failures on one identifier from every client together from which any client that has failed waits. */
  identifierCeiling: number;
  /** That wait, after the client's own last failure. */
  ceilingDelaySeconds: number;
  /** Failures are forgotten this long after the last one. */
  forgetSeconds: number;
}

/** The production pacing (docs/security.md): 5 free failures, then 15 s doubling to 15 min; 50 in total: ≥ 60 s each. */
export const DEFAULT_LOGIN_THROTTLE_LIMITS: LoginThrottleLimits = {
  freeFailures: 5,
  firstDelaySeconds: 15,
  maxDelaySeconds: 900,
  identifierCeiling: 50,
  ceilingDelaySeconds: 60,
  forgetSeconds: 86_400,
};

/** Who is trying: the WeChat user behind an H5 form, else the client IP (the browser the portal reports). */
export interface LoginClient {
  ip: string;
  openid?: string | null;
}

/** Whose password is tried: a 登录账号 as typed (a login), or a known account (修改密码's current password). */
export type LoginSubject = { typed: string } | { accountId: string };

/**
 * Paces password guessing per (typed identifier, client) with waits that grow, and per identifier
 * with a ceiling that slows every client that has been failing, never one that has not: a stranger
 * hammering someone's ID number cannot keep its owner out, and nothing depends on whether an
 * account exists, so the answers cannot tell. Identifiers and clients reach the store only as
 * keyed digests.
 */
export class LoginThrottle {
  private readonly subjects: SubjectDigest;
  private readonly pacing: FailurePacing;

  constructor(
    private readonly store: LoginFailureStore,
    dataKey: Buffer,
    limits: LoginThrottleLimits = DEFAULT_LOGIN_THROTTLE_LIMITS,
  ) {
    this.subjects = new SubjectDigest(dataKey, 'etax-wechat/login-failures', 'v1 login failure subjects');
    this.pacing = pacingOf(limits);
  }

  /** Refuses the try while this client must wait; else counts it as a failure until `succeeded` says otherwise. */
  claim(subject: LoginSubject, client: LoginClient): Promise<FailureClaim> {
    return this.store.claim(this.subjectDigest(subject), this.clientDigest(client), this.pacing);
  }

  succeeded(subject: LoginSubject, client: LoginClient): Promise<void> {
    return this.store.succeeded(this.subjectDigest(subject), this.clientDigest(client));
  }

  /** Forgets every failure on these subjects, from every client. */
  async forget(subjects: LoginSubject[]): Promise<void> {
    await Promise.all(subjects.map((subject) => this.store.forget(this.subjectDigest(subject))));
  }

  /** The wait that follows a client's `failures`-th failure, in seconds (0: the next try goes at once). */
  waitAfterSeconds(failures: number): number {
    const waits = this.pacing.clientWaitsMs;
    return (waits[Math.min(failures, waits.length - 1)] ?? 0) / 1000;
  }

  // One identifier however it is typed: ID numbers upper-case (x or X), login names compared
  // case-insensitively as MySQL looks them up.
  private subjectDigest(subject: LoginSubject): string {
    if ('accountId' in subject) return this.subjects.of('account', subject.accountId);
    const trimmed = subject.typed.trim();
    const normalised = looksLikeIdNumber(trimmed)
      ? normalizeIdNumber(trimmed)
      : looksLikeMobileNumber(trimmed)
        ? trimmed
        : trimmed.toLowerCase();
    return this.subjects.of('identifier', normalised);
  }

  private clientDigest(client: LoginClient): string {
    return client.openid ? this.subjects.of('openid', client.openid) : this.subjects.of('ip', client.ip.toLowerCase());
  }
}

/** No wait before freeFailures failures, then firstDelay doubling up to maxDelay. */
function pacingOf(limits: LoginThrottleLimits): FailurePacing {
  const waits: number[] = Array.from({ length: limits.freeFailures }, () => 0);
  const maxMs = limits.maxDelaySeconds * 1000;
  for (let wait = limits.firstDelaySeconds * 1000; ; wait *= 2) {
    waits.push(Math.min(wait, maxMs));
    if (wait >= maxMs || wait === 0) break;
  }
  return {
    clientWaitsMs: waits,
    ceiling: limits.identifierCeiling,
    ceilingWaitMs: limits.ceilingDelaySeconds * 1000,
    forgetMs: limits.forgetSeconds * 1000,
  };
}
