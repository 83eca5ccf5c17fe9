import type { RateLimiter } from '../security/RateLimiter';
import type { PersonalDataProtector } from '../security/PersonalDataProtector';
import type { IdentityClaim, IdentityVerdict, IdentityVerifier } from './IdentityVerifier';

/** Verification calls allowed per day and per subject; a paid verifier bills every call. */
export interface IdentityVerificationLimits {
  perOpenid: number;
  perPhone: number;
  perIp: number;
}

const DAY_SECONDS = 86_400;

/**
 * Counts every call before it reaches the paid verifier: per WeChat user, per phone and per IP, each
 * per day. The phone is counted by its keyed hash, so the counters hold no phone number.
 */
export class RateLimitedIdentityVerifier implements IdentityVerifier {
  constructor(
    private readonly inner: IdentityVerifier,
    private readonly deps: {
      rateLimiter: RateLimiter;
      protector: PersonalDataProtector;
      limits: IdentityVerificationLimits;
    },
  ) {}

  async verify(claim: IdentityClaim): Promise<IdentityVerdict> {
    const { rateLimiter, protector, limits } = this.deps;
    const counters: [string, string, number][] = [
      ['openid', `identity-openid:${claim.openid}`, limits.perOpenid],
      ['phone', `identity-phone:${protector.index('phone', claim.phone)}`, limits.perPhone],
      ['ip', `identity-ip:${claim.ip}`, limits.perIp],
    ];
    for (const [subject, key, limit] of counters) {
      const { allowed } = await rateLimiter.hit(key, limit, DAY_SECONDS);
      if (!allowed)
        return {
          ok: false,
          field: 'form',
          message: '今日实名核验次数已达上限，请明天再试',
          reason: `identity_rate_limited_${subject}`,
        };
    }
    return this.inner.verify(claim);
  }
}
