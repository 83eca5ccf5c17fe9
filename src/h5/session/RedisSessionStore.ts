import { createHash } from 'node:crypto';
import type { Redis } from '../../store/createRedis';
import type { RedisKeys } from '../../store/RedisKeys';
import type { H5SessionData, SessionStore } from './SessionStore';

/** Sessions in Redis under a hash of their id, so reading Redis does not yield usable cookies. */
export class RedisSessionStore implements SessionStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  private key(id: string): string {
    return this.keys.key('h5', 'session', createHash('sha256').update(id).digest('hex'));
  }

  async get(id: string): Promise<H5SessionData | null> {
    const value = await this.redis.get(this.key(id));
    return value ? JSON.parse(value) as H5SessionData : null;
  }

  async set(id: string, data: H5SessionData, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(id), JSON.stringify(data), { expiration: { type: 'EX', value: Math.max(1, Math.ceil(ttlSeconds)) } });
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}
