import { createHmac, hkdfSync } from 'node:crypto';
import type { RateLimiter } from './RateLimiter';

/** The H5 forms, and the reference portal's 实名用户登录, that spend an image captcha on each attempt. */
export type AttemptForm =
  'bind-login' | 'bind-sms' | 'register-sms' | 'password-forgot' | 'password-code' | 'portal-login';

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

export type AttemptVerdict =
  | { allowed: true }
  /** `firstRefusal`: the first refused attempt of its window (audited once, not on every try of a flood). */
  | { allowed: false; retryAfterSeconds: number; firstRefusal: boolean };

// Fixed, public HKDF salt and label: they only separate this subkey from DATA_KEY's other uses.
const HKDF_SALT = Buffer.from('etax-wechat/form-attempts');

/**
 * Caps the attempts at the forms that take a password or an image captcha (ASVS V6.3.1): the
 * login throttle paces guessing one 登录账号's password, the captcha costs each try something, and
 * this stops one user or one IP from trying many accounts (credential stuffing) or flooding a form
 * with captcha guesses. Attempts count whatever their outcome; openids, portal sessions and IPs
 * appear in Redis keys only as keyed digests.
 */
export class FormAttemptLimiter {
  private readonly key: Buffer;

  constructor(
    private readonly rateLimiter: RateLimiter,
    dataKey: Buffer,
    private readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', dataKey, HKDF_SALT, 'v1 attempt subjects', 32));
  }

  /** Counts one attempt at `form` by this user from this IP and says whether it may go on. */
  async attempt(form: AttemptForm, who: AttemptSubject): Promise<AttemptVerdict> {
    const { perUser, perIp } = this.limits;
    const subject =
      'openid' in who
        ? `wx:${this.digest('openid', who.openid)}`
        : `ps:${this.digest('portal-session', who.portalSession)}`;
    const [user, ip] = await Promise.all([
      this.rateLimiter.hit(`attempts:${form}:${subject}`, perUser.limit, perUser.windowSeconds),
      this.rateLimiter.hit(`attempts:${form}:ip:${this.digest('ip', who.ip)}`, perIp.limit, perIp.windowSeconds),
    ]);
    if (user.allowed && ip.allowed) return { allowed: true };
    return {
      allowed: false,
      retryAfterSeconds: Math.max(user.retryAfterSeconds, ip.retryAfterSeconds),
      firstRefusal: user.count === perUser.limit + 1 || ip.count === perIp.limit + 1,
    };
  }

  // 128 bits: collisions are out of reach and the keys stay short.
  private digest(kind: string, value: string): string {
    return createHmac('sha256', this.key).update(`${kind}\u0000${value}`, 'utf8').digest('hex').slice(0, 32);
  }
}

/** "请 N 分钟后再试" for a refusal. */
export function retryAfterText(seconds: number): string {
  return `尝试次数过多，请 ${Math.max(1, Math.ceil(seconds / 60))} 分钟后再试。`;
}
