import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import type { DedupeClaim, PushDedupeStore } from './PushDedupeStore';

const PENDING = '0';
const DONE = '1';

export class RedisPushDedupeStore implements PushDedupeStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async claim(key: string, ttlSeconds: number): Promise<DedupeClaim> {
    const redisKey = this.keys.key('push', key);
    const set = await this.redis.set(redisKey, PENDING, {
      condition: 'NX',
      expiration: { type: 'EX', value: ttlSeconds },
    });
    if (set === 'OK') return { first: true };
    const value = await this.redis.get(redisKey);
    return { first: false, reply: value?.startsWith(DONE) ? value.slice(1) : null };
  }

  async complete(key: string, reply: string): Promise<void> {
    await this.redis.set(this.keys.key('push', key), DONE + reply, { condition: 'XX', expiration: 'KEEPTTL' });
  }

  async release(key: string): Promise<void> {
    await this.redis.del(this.keys.key('push', key));
  }
}
