import type { Clock } from '../clock/Clock';
import type { Config } from '../config/Config';
import type { PersonalDataProtector } from '../security/PersonalDataProtector';
import type { RateLimiter } from '../security/RateLimiter';
import { FormatOnlyIdentityVerifier, type IdentityVerifier } from './IdentityVerifier';
import { RateLimitedIdentityVerifier } from './RateLimitedIdentityVerifier';
import { TencentCloudIdentityVerifier } from './TencentCloudIdentityVerifier';

/** The verifier IDENTITY_VERIFIER names; the paid one sits behind its daily rate limits. */
export function createIdentityVerifier(
  config: Config,
  context: { clock: Clock; rateLimiter: RateLimiter; protector: PersonalDataProtector },
): IdentityVerifier {
  switch (config.identity.verifier) {
    case 'format-only':
      return new FormatOnlyIdentityVerifier(context.clock);
    case 'tencentcloud':
      if (!config.identity.tencentcloud)
        throw new Error('IDENTITY_VERIFIER=tencentcloud needs the TENCENTCLOUD_* settings');
      return new RateLimitedIdentityVerifier(new TencentCloudIdentityVerifier(config.identity.tencentcloud), {
        rateLimiter: context.rateLimiter,
        protector: context.protector,
        limits: config.identity.limits,
      });
  }
}
