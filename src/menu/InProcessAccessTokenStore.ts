import { randomUUID } from 'node:crypto';
import type { AccessTokenStore, StoredAccessToken } from '../wechat/api/AccessTokenStore';

/**
 * The access token kept in this process only, for REDIS_URL=memory (the embedded demo), where no
 * other process shares it. stable_token hands every caller the same token, so a short-lived CLI
 * fetching its own never revokes the server's. No forced refreshes: those would revoke it.
 */
export class InProcessAccessTokenStore implements AccessTokenStore {
  private stored: { token: StoredAccessToken; until: number } | null = null;
  private owner: string | null = null;

  async get(): Promise<StoredAccessToken | null> {
    if (this.stored && Date.now() >= this.stored.until) this.stored = null;
    return this.stored?.token ?? null;
  }

  async set(token: StoredAccessToken, ttlMs: number): Promise<void> {
    this.stored = { token, until: Date.now() + ttlMs };
  }

  async lock(): Promise<string | null> {
    if (this.owner) return null;
    this.owner = randomUUID();
    return this.owner;
  }

  async unlock(owner: string): Promise<void> {
    if (this.owner === owner) this.owner = null;
  }

  async takeForcedRefresh(): Promise<boolean> {
    return false;
  }
}
