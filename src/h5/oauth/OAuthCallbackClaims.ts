import { createHash } from 'node:crypto';
import type { Redis } from '../../store/createRedis';
import type { RedisKeys } from '../../store/RedisKeys';

/** How a first OAuth callback ended, so a repeat of it (same code) ends on the same page. */
export interface CallbackOutcome {
  /** sha256 of the session id the first callback came with. */
  fromSession: string;
  /** The session it created (the session is renewed once the openid is known). */
  sessionId: string;
  returnTo: string;
}

export type CallbackClaim = { first: true } | { first: false; outcome: CallbackOutcome | null };

const TTL_SECONDS = 300; // an OAuth code lives 5 minutes

/**
 * WeChat sometimes opens the OAuth callback twice with the same code; the second exchange gets
 * 40163. Each code is claimed here first, and the outcome kept for the repeat.
 */
export class OAuthCallbackClaims {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  private key(code: string): string {
    return this.keys.key('h5', 'oauth-code', createHash('sha256').update(code).digest('hex'));
  }

  async claim(code: string): Promise<CallbackClaim> {
    const ok = await this.redis.set(this.key(code), '', { condition: 'NX', expiration: { type: 'EX', value: TTL_SECONDS } });
    if (ok === 'OK') return { first: true };
    return { first: false, outcome: await this.outcome(code) };
  }

  async outcome(code: string): Promise<CallbackOutcome | null> {
    const value = await this.redis.get(this.key(code));
    return value ? JSON.parse(value) as CallbackOutcome : null;
  }

  async complete(code: string, outcome: CallbackOutcome): Promise<void> {
    await this.redis.set(this.key(code), JSON.stringify(outcome), { condition: 'XX', expiration: 'KEEPTTL' });
  }

  /** A first callback that failed leaves nothing behind that a repeat could follow. */
  async release(code: string): Promise<void> {
    await this.redis.del(this.key(code));
  }
}

export const sessionFingerprint = (sessionId: string | null): string =>
  createHash('sha256').update(sessionId ?? '').digest('hex');
