import type { Clock } from '../../clock/Clock';
import { ExpiringMap } from '../../store/ExpiringMap';
import type { WebOAuthToken, WebOAuthTokenStore } from './WebOAuthTokenStore';

/** Web OAuth tokens in this process (REDIS_URL=memory), as JSON so callers never share one object. */
export class MemoryWebOAuthTokenStore implements WebOAuthTokenStore {
  private readonly tokens: ExpiringMap<string>;

  constructor(clock: Clock) {
    this.tokens = new ExpiringMap(clock);
  }

  get(openid: string): Promise<WebOAuthToken | null> {
    const value = this.tokens.get(openid);
    return Promise.resolve(value ? (JSON.parse(value) as WebOAuthToken) : null);
  }

  set(openid: string, token: WebOAuthToken, ttlSeconds: number): Promise<void> {
    this.tokens.set(openid, JSON.stringify(token), Math.max(1, Math.ceil(ttlSeconds)) * 1000);
    return Promise.resolve();
  }
}
