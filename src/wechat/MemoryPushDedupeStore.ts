import type { Clock } from '../clock/Clock';
import { ExpiringMap } from '../store/ExpiringMap';
import type { DedupeClaim, PushDedupeStore } from './PushDedupeStore';

/**
 * Push claims in this process (REDIS_URL=memory): enough for the one instance of the embedded demo,
 * where no other instance can receive WeChat's retry. A claim holds null until its reply is known.
 */
export class MemoryPushDedupeStore implements PushDedupeStore {
  private readonly claims: ExpiringMap<string | null>;

  constructor(clock: Clock) {
    this.claims = new ExpiringMap(clock);
  }

  claim(key: string, ttlSeconds: number): Promise<DedupeClaim> {
    if (this.claims.setIfAbsent(key, null, ttlSeconds * 1000)) return Promise.resolve({ first: true });
    return Promise.resolve({ first: false, reply: this.claims.get(key) ?? null });
  }

  complete(key: string, reply: string): Promise<void> {
    this.claims.replace(key, reply);
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    this.claims.delete(key);
    return Promise.resolve();
  }
}
