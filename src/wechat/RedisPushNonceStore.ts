import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import type { NonceSighting, PushNonceStore } from './PushNonceStore';

/** One key per (timestamp, nonce): SET NX, then a read of the winner when it was already there. */
export class RedisPushNonceStore implements PushNonceStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async sight(pair: string, bodyDigest: string, ttlSeconds: number): Promise<NonceSighting> {
    const key = this.keys.key('push-nonce', pair);
    const set = await this.redis.set(key, bodyDigest, {
      condition: 'NX',
      expiration: { type: 'EX', value: ttlSeconds },
    });
    if (set === 'OK') return 'new';
    // Expired between the two commands: nothing is recorded any more, so this body is the first.
    const seen = await this.redis.get(key);
    return seen === null || seen === bodyDigest ? 'same' : 'different';
  }
}
