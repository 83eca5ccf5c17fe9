import { createHash } from 'node:crypto';
import type { Redis } from '../../store/createRedis';
import type { RedisKeys } from '../../store/RedisKeys';
import {
  OAUTH_CODE_CLAIM_TTL_SECONDS,
  type CallbackClaim,
  type CallbackOutcome,
  type OAuthCallbackClaims,
} from './OAuthCallbackClaims';

/** Claims shared by every instance, under a hash of the code (a live code is a credential). */
export class RedisOAuthCallbackClaims implements OAuthCallbackClaims {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  private key(code: string): string {
    return this.keys.key('h5', 'oauth-code', createHash('sha256').update(code).digest('hex'));
  }

  async claim(code: string): Promise<CallbackClaim> {
    const ok = await this.redis.set(this.key(code), '', {
      condition: 'NX',
      expiration: { type: 'EX', value: OAUTH_CODE_CLAIM_TTL_SECONDS },
    });
    if (ok === 'OK') return { first: true };
    return { first: false, outcome: await this.outcome(code) };
  }

  async outcome(code: string): Promise<CallbackOutcome | null> {
    const value = await this.redis.get(this.key(code));
    return value ? (JSON.parse(value) as CallbackOutcome) : null;
  }

  async complete(code: string, outcome: CallbackOutcome): Promise<void> {
    await this.redis.set(this.key(code), JSON.stringify(outcome), { condition: 'XX', expiration: 'KEEPTTL' });
  }

  async release(code: string): Promise<void> {
    await this.redis.del(this.key(code));
  }
}
