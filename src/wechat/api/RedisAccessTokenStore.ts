import { randomUUID } from 'node:crypto';
import type { Redis } from '../../store/createRedis';
import type { RedisKeys } from '../../store/RedisKeys';
import type { AccessTokenStore, StoredAccessToken } from './AccessTokenStore';
import {
  FORCED_REFRESH_COUNTER_TTL_MS,
  FORCED_REFRESH_GAP_MS,
  FORCED_REFRESHES_PER_DAY,
  forcedRefreshDay,
} from './forcedRefreshQuota';

// Deletes the lock only when it still belongs to the caller, so a lock that expired and was taken
// by another instance is never removed by the first one.
const UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

export class RedisAccessTokenStore implements AccessTokenStore {
  private readonly tokenKey: string;
  private readonly lockKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.tokenKey = keys.key('wechat', 'access-token');
    this.lockKey = keys.key('wechat', 'access-token', 'lock');
  }

  async get(): Promise<StoredAccessToken | null> {
    const value = await this.redis.get(this.tokenKey);
    return value ? (JSON.parse(value) as StoredAccessToken) : null;
  }

  async set(token: StoredAccessToken, ttlMs: number): Promise<void> {
    await this.redis.set(this.tokenKey, JSON.stringify(token), {
      expiration: { type: 'PX', value: Math.max(1, Math.round(ttlMs)) },
    });
  }

  async lock(ttlMs: number): Promise<string | null> {
    const owner = randomUUID();
    const ok = await this.redis.set(this.lockKey, owner, { condition: 'NX', expiration: { type: 'PX', value: ttlMs } });
    return ok === 'OK' ? owner : null;
  }

  async unlock(owner: string): Promise<void> {
    await this.redis.eval(UNLOCK, { keys: [this.lockKey], arguments: [owner] });
  }

  async takeForcedRefresh(nowMs: number): Promise<boolean> {
    const gap = await this.redis.set(this.keys.key('wechat', 'access-token', 'forced-gap'), '1', {
      condition: 'NX',
      expiration: { type: 'PX', value: FORCED_REFRESH_GAP_MS },
    });
    if (gap !== 'OK') return false;
    const dayKey = this.keys.key('wechat', 'access-token', 'forced', forcedRefreshDay(nowMs));
    // One transaction, so the day counter can never be left without its expiry.
    const [used] = await this.redis.multi().incr(dayKey).pExpire(dayKey, FORCED_REFRESH_COUNTER_TTL_MS).exec();
    return Number(used) <= FORCED_REFRESHES_PER_DAY;
  }
}
