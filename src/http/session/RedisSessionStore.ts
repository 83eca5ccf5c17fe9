import type { Redis } from '../../store/createRedis';
import type { RedisKeys } from '../../store/RedisKeys';
import { sessionIdHash } from './sessionIdHash';
import type { SessionAccount, SessionData, SessionStore } from './SessionStore';

/**
 * Sessions in Redis at `<prefix><namespace>:session:<sha256(id)>`, so reading Redis does not yield
 * usable cookies; each use of sessions (H5 pages, the portal) has a namespace of its own. A session
 * acting for an account is also listed in the set `<namespace>:account-sessions:<accountId>`,
 * which outlives its longest-lived member.
 */
export class RedisSessionStore<T extends SessionData> implements SessionStore<T> {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly namespace: string,
    private readonly accountOf: SessionAccount<T> = () => undefined,
  ) {}

  private key(id: string): string {
    return this.sessionKey(sessionIdHash(id));
  }

  private sessionKey(hash: string): string {
    return this.keys.key(this.namespace, 'session', hash);
  }

  private indexKey(accountId: string): string {
    return this.keys.key(this.namespace, 'account-sessions', accountId);
  }

  async get(id: string): Promise<T | null> {
    const value = await this.redis.get(this.key(id));
    return value ? (JSON.parse(value) as T) : null;
  }

  async set(id: string, data: T, ttlSeconds: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    const accountId = this.accountOf(data);
    // Indexed before the session is written, so no live session of the account is ever missing from the set.
    if (accountId !== undefined) {
      const index = this.indexKey(accountId);
      // One key per command: the set and the session sit in different Cluster slots.
      await this.redis.sAdd(index, sessionIdHash(id));
      await this.redis.expire(index, ttl, 'NX');
      await this.redis.expire(index, ttl, 'GT');
    }
    await this.redis.set(this.key(id), JSON.stringify(data), { expiration: { type: 'EX', value: ttl } });
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  async destroyForAccount(accountId: string): Promise<number> {
    const index = this.indexKey(accountId);
    const members = await this.redis.sMembers(index);
    if (members.length === 0) return 0;
    const ended = await Promise.all(members.map((hash) => this.redis.del(this.sessionKey(hash))));
    // Only the members read: a session indexed meanwhile stays listed (and alive) for the next reset.
    await this.redis.sRem(index, members);
    return ended.reduce((sum, n) => sum + Number(n), 0);
  }
}
