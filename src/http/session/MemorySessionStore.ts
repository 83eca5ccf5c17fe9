import type { Clock } from '../../clock/Clock';
import { ExpiringMap } from '../../store/ExpiringMap';
import { sessionIdHash } from './sessionIdHash';
import type { SessionAccount, SessionData, SessionStore } from './SessionStore';

/**
 * Sessions in this process (REDIS_URL=memory, the embedded demo, and unit tests): one instance per
 * use. Kept as JSON under a hash of the id, as in Redis, so a handler changing the object it read
 * changes nothing until the session is written back.
 */
export class MemorySessionStore<T extends SessionData> implements SessionStore<T> {
  private readonly sessions: ExpiringMap<string>;
  /** Session hashes by the account they act for; members whose session is gone are pruned on the next write. */
  private readonly byAccount = new Map<string, Set<string>>();

  constructor(
    clock: Clock,
    private readonly accountOf: SessionAccount<T> = () => undefined,
  ) {
    this.sessions = new ExpiringMap(clock);
  }

  get(id: string): Promise<T | null> {
    const value = this.sessions.get(sessionIdHash(id));
    return Promise.resolve(value ? (JSON.parse(value) as T) : null);
  }

  set(id: string, data: T, ttlSeconds: number): Promise<void> {
    const hash = sessionIdHash(id);
    this.sessions.set(hash, JSON.stringify(data), Math.max(1, Math.ceil(ttlSeconds)) * 1000);
    const accountId = this.accountOf(data);
    if (accountId === undefined) return Promise.resolve();
    const members = this.byAccount.get(accountId) ?? new Set<string>();
    for (const member of members) if (this.sessions.get(member) === undefined) members.delete(member);
    members.add(hash);
    this.byAccount.set(accountId, members);
    return Promise.resolve();
  }

  /** Sessions held now (expired ones count until they are swept). */
  get size(): number {
    return this.sessions.size;
  }

  destroy(id: string): Promise<void> {
    this.sessions.delete(sessionIdHash(id));
    return Promise.resolve();
  }

  destroyForAccount(accountId: string): Promise<number> {
    const members = this.byAccount.get(accountId);
    this.byAccount.delete(accountId);
    let ended = 0;
    for (const member of members ?? []) {
      if (this.sessions.get(member) !== undefined) ended += 1;
      this.sessions.delete(member);
    }
    return Promise.resolve(ended);
  }
}
