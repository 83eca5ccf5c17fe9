import type { Clock } from '../../clock/Clock';
import { ExpiringMap } from '../../store/ExpiringMap';
import { sessionIdHash } from './sessionIdHash';
import type { SessionData, SessionStore } from './SessionStore';

/**
 * Sessions in this process (REDIS_URL=memory, the embedded demo, and unit tests): one instance per
 * use. Kept as JSON under a hash of the id, as in Redis, so a handler changing the object it read
 * changes nothing until the session is written back.
 */
export class MemorySessionStore<T extends SessionData> implements SessionStore<T> {
  private readonly sessions: ExpiringMap<string>;

  constructor(clock: Clock) {
    this.sessions = new ExpiringMap(clock);
  }

  async get(id: string): Promise<T | null> {
    const value = this.sessions.get(sessionIdHash(id));
    return value ? (JSON.parse(value) as T) : null;
  }

  async set(id: string, data: T, ttlSeconds: number): Promise<void> {
    this.sessions.set(sessionIdHash(id), JSON.stringify(data), Math.max(1, Math.ceil(ttlSeconds)) * 1000);
  }

  /** Sessions held now (expired ones count until they are swept). */
  get size(): number {
    return this.sessions.size;
  }

  async destroy(id: string): Promise<void> {
    this.sessions.delete(sessionIdHash(id));
  }
}
