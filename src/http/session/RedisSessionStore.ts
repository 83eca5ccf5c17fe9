import type { Redis } from '../../store/createRedis';
import type { RedisKeys } from '../../store/RedisKeys';
import { sessionIdHash } from './sessionIdHash';
import type { SessionData, SessionStore } from './SessionStore';

/**
 * Sessions in Redis at `<prefix><namespace>:session:<sha256(id)>`, so reading Redis does not yield
 * usable cookies; each use of sessions (H5 pages, the portal) has a namespace of its own.
 */
export class RedisSessionStore<T extends SessionData> implements SessionStore<T> {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly namespace: string,
  ) {}

  private key(id: string): string {
    return this.keys.key(this.namespace, 'session', sessionIdHash(id));
  }

  async get(id: string): Promise<T | null> {
    const value = await this.redis.get(this.key(id));
    return value ? (JSON.parse(value) as T) : null;
  }

  async set(id: string, data: T, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(id), JSON.stringify(data), {
      expiration: { type: 'EX', value: Math.max(1, Math.ceil(ttlSeconds)) },
    });
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}
