import type { Redis } from '../../store/createRedis';
import type { RedisKeys } from '../../store/RedisKeys';
import type { WebOAuthToken, WebOAuthTokenStore } from './WebOAuthTokenStore';

export class RedisWebOAuthTokenStore implements WebOAuthTokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  private key(openid: string): string {
    return this.keys.key('h5', 'oauth-token', openid);
  }

  async get(openid: string): Promise<WebOAuthToken | null> {
    const value = await this.redis.get(this.key(openid));
    return value ? (JSON.parse(value) as WebOAuthToken) : null;
  }

  async set(openid: string, token: WebOAuthToken, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(openid), JSON.stringify(token), {
      expiration: { type: 'EX', value: Math.max(1, Math.ceil(ttlSeconds)) },
    });
  }
}
