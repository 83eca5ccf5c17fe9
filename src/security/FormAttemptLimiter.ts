import type { RateLimiter } from './RateLimiter';
import { SubjectDigest } from './SubjectDigest';

/**
 * What is counted: the H5 forms that spend an image captcha on each attempt, 实名注册's 注册 (an SMS-code
 * guess), 实名绑定's phone mismatches after 登录 (each one a guess at the digits behind the masked phone),
 * and the reference portal's 实名用户登录.
 */
export type AttemptForm =
  | 'bind-login'
  | 'bind-sms'
  | 'register-sms'
  | 'register'
  | 'password-forgot'
  | 'password-code'
  | 'bind-phone'
  | 'portal-login';

/** Who is attempting: a WeChat user (H5 forms) or a reference-portal browser session, and the client IP. */
export type AttemptSubject = { openid: string; ip: string } | { portalSession: string; ip: string };

export interface AttemptLimit {
  limit: number;
  windowSeconds: number;
}

export interface AttemptLimits {
  /**
   * Per WeChat user (openid): sessions are cheap to renew through OAuth, a WeChat account is not.
   * On the portal, per browser session (the per-IP limit covers a client that keeps dropping it).
   */
  perUser: AttemptLimit;
  /** Per client IP: generous, since mobile carriers put many users behind one address. */
  perIp: AttemptLimit;
}

/** 10 tries per WeChat user per 15 minutes, 200 per IP per hour, for each form (docs/security.md). */
export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = {
  perUser: { limit: 10, windowSeconds: 15 * 60 },
  perIp: { limit: 200, windowSeconds: 3600 },
};

/**
 * Phone mismatches of 实名绑定 after 登录: 3 per WeChat user per 15 minutes and 30 per IP per hour.
 * The masked phone leaves 4 digits (10,000 numbers) to guess, so a few wrong numbers are a typo and
 * more are a search; on a refusal the bind session's 登录 step is cleared.
 */
export const PHONE_MISMATCH_LIMITS: AttemptLimits = {
  perUser: { limit: 3, windowSeconds: 15 * 60 },
  perIp: { limit: 30, windowSeconds: 3600 },
};

/** Forms whose limits differ from the default ones. */
export const FORM_ATTEMPT_LIMITS: Partial<Record<AttemptForm, AttemptLimits>> = { 'bind-phone': PHONE_MISMATCH_LIMITS };

export type AttemptVerdict =
  | { allowed: true }
  /** `firstRefusal`: the first refused attempt of its window (audited once, not on every try of a flood). */
  | { allowed: false; retryAfterSeconds: number; firstRefusal: boolean };

/**
 * Caps the attempts at the forms that take a password or an image captcha (ASVS V6.3.1): the
 * login throttle paces guessing one 登录账号's password, the captcha costs each try something, and
 * this stops one user or one IP from trying many accounts (credential stuffing) or flooding a form
 * with captcha guesses. Attempts count whatever their outcome; openids, portal sessions and IPs
 * appear in Redis keys only as keyed digests.
 */
export class FormAttemptLimiter {
  private readonly subjects: SubjectDigest;

  constructor(
    private readonly rateLimiter: RateLimiter,
    dataKey: Buffer,
    private readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS,
    private readonly formLimits: Partial<Record<AttemptForm, AttemptLimits>> = FORM_ATTEMPT_LIMITS,
  ) {
    this.subjects = new SubjectDigest(dataKey, 'etax-wechat/form-attempts', 'v1 attempt subjects');
  }

  /** Counts one attempt at `form` by this user from this IP and says whether it may go on. */
  async attempt(form: AttemptForm, who: AttemptSubject): Promise<AttemptVerdict> {
    const { perUser, perIp } = this.formLimits[form] ?? this.limits;
    const subject =
      'openid' in who
        ? `wx:${this.subjects.of('openid', who.openid)}`
        : `ps:${this.subjects.of('portal-session', who.portalSession)}`;
    const [user, ip] = await Promise.all([
      this.rateLimiter.hit(`attempts:${form}:${subject}`, perUser.limit, perUser.windowSeconds),
      this.rateLimiter.hit(`attempts:${form}:ip:${this.subjects.of('ip', who.ip)}`, perIp.limit, perIp.windowSeconds),
    ]);
    if (user.allowed && ip.allowed) return { allowed: true };
    return {
      allowed: false,
      retryAfterSeconds: Math.max(user.retryAfterSeconds, ip.retryAfterSeconds),
      firstRefusal: user.count === perUser.limit + 1 || ip.count === perIp.limit + 1,
    };
  }
}

/** "请 N 分钟后再试" for a refusal. */
export function retryAfterText(seconds: number): string {
  return `尝试次数过多，请 ${Math.max(1, Math.ceil(seconds / 60))} 分钟后再试。`;
}
