import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock/Clock';
import { ExpiringMap } from '../../store/ExpiringMap';
import type { AccessTokenStore, StoredAccessToken } from './AccessTokenStore';
import {
  FORCED_REFRESH_COUNTER_TTL_MS,
  FORCED_REFRESH_GAP_MS,
  FORCED_REFRESHES_PER_DAY,
  forcedRefreshDay,
} from './forcedRefreshQuota';

export interface MemoryAccessTokenStoreOptions {
  /**
   * Forced refreshes this process may take a day; default WeChat's 20. A short-lived process next
   * to a server (the menu CLI with REDIS_URL=memory) passes 0: it cannot see the server's count,
   * and a forced refresh of its own would revoke the token the server holds.
   */
  forcedRefreshesPerDay?: number;
}

/**
 * The access token in this process only (REDIS_URL=memory): the lock still makes one caller fetch
 * at a time, and the forced-refresh limits hold as in Redis. Lifetimes follow the injected clock.
 */
export class MemoryAccessTokenStore implements AccessTokenStore {
  private readonly entries: ExpiringMap<string>;
  private readonly forcedPerDay: number;

  constructor(clock: Clock, options: MemoryAccessTokenStoreOptions = {}) {
    this.entries = new ExpiringMap(clock);
    this.forcedPerDay = options.forcedRefreshesPerDay ?? FORCED_REFRESHES_PER_DAY;
  }

  get(): Promise<StoredAccessToken | null> {
    const value = this.entries.get('token');
    return Promise.resolve(value ? (JSON.parse(value) as StoredAccessToken) : null);
  }

  set(token: StoredAccessToken, ttlMs: number): Promise<void> {
    this.entries.set('token', JSON.stringify(token), Math.max(1, Math.round(ttlMs)));
    return Promise.resolve();
  }

  lock(ttlMs: number): Promise<string | null> {
    const owner = randomUUID();
    return Promise.resolve(this.entries.setIfAbsent('lock', owner, ttlMs) ? owner : null);
  }

  unlock(owner: string): Promise<void> {
    if (this.entries.get('lock') === owner) this.entries.delete('lock');
    return Promise.resolve();
  }

  takeForcedRefresh(nowMs: number): Promise<boolean> {
    // As in Redis: a refused attempt still takes the gap, and the day counts every attempt.
    if (!this.entries.setIfAbsent('forced-gap', '1', FORCED_REFRESH_GAP_MS)) return Promise.resolve(false);
    const dayKey = `forced:${forcedRefreshDay(nowMs)}`;
    const used = Number(this.entries.get(dayKey) ?? '0') + 1;
    this.entries.set(dayKey, String(used), FORCED_REFRESH_COUNTER_TTL_MS);
    return Promise.resolve(used <= this.forcedPerDay);
  }
}
