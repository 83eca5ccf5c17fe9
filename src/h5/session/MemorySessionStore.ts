import type { Clock } from '../../clock/Clock';
import { ExpiringMap } from '../../store/ExpiringMap';
import type { H5SessionData, SessionStore } from './SessionStore';

/**
 * H5 sessions in this process (REDIS_URL=memory). Kept as JSON, as in Redis, so a handler changing
 * the object it read changes nothing until the session is written back.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions: ExpiringMap<string>;

  constructor(clock: Clock) {
    this.sessions = new ExpiringMap(clock);
  }

  async get(id: string): Promise<H5SessionData | null> {
    const value = this.sessions.get(id);
    return value ? JSON.parse(value) as H5SessionData : null;
  }

  async set(id: string, data: H5SessionData, ttlSeconds: number): Promise<void> {
    this.sessions.set(id, JSON.stringify(data), Math.max(1, Math.ceil(ttlSeconds)) * 1000);
  }

  async destroy(id: string): Promise<void> {
    this.sessions.delete(id);
  }
}
