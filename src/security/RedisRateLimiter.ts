import type { Clock } from '../clock/Clock';
import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import { fixedWindow, rateLimitResult, type RateLimiter, type RateLimitResult } from './RateLimiter';

// Deletes every window listed in the index, and the index. All keys of one limiter key share a hash
// tag, so this stays in one Cluster slot even though the window keys are derived, not passed in.
const RESET = `
local windows = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, window in ipairs(windows) do redis.call('DEL', ARGV[1] .. window) end
return redis.call('DEL', KEYS[1])`;

/**
 * One counter per (key, window length, window start): `INCR` and its `EXPIRE` go in one MULTI, so
 * a counter never lives without a TTL. A small sorted set per key lists its current windows (score:
 * window end) so `reset(key)` can find them without SCAN.
 */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError('limit must be a non-negative integer');
    const now = this.clock.now();
    const { startMs, endMs } = fixedWindow(now, windowSeconds);
    const window = windowName(windowSeconds, startMs);
    const counter = this.counterKey(key, window);
    const index = this.indexKey(key);
    const [count] = await this.redis
      .multi()
      .incr(counter)
      // NX: the first hit of a window sets its lifetime; later hits must not extend it.
      .expire(counter, windowSeconds, 'NX')
      // Windows that ended (on our clock) are never read again, so the index forgets them.
      .zRemRangeByScore(index, '-inf', now)
      .zAdd(index, { score: endMs, value: window })
      // The index lives as long as its longest window: NX for a new index, GT to extend it.
      .expire(index, windowSeconds, 'NX')
      .expire(index, windowSeconds, 'GT')
      .exec();
    return rateLimitResult(Number(count), limit, now, windowSeconds);
  }

  async peek(key: string, windowSeconds: number): Promise<number> {
    const { startMs } = fixedWindow(this.clock.now(), windowSeconds);
    const value = await this.redis.get(this.counterKey(key, windowName(windowSeconds, startMs)));
    return value === null ? 0 : Number(value);
  }

  async reset(key: string): Promise<void> {
    await this.redis.eval(RESET, { keys: [this.indexKey(key)], arguments: [this.counterKey(key, '')] });
  }

  // `{key}` is the Cluster hash tag: a key's counters and index always share one slot.
  private counterKey(key: string, window: string): string {
    return this.keys.key('rate', `{${key}}`, window);
  }

  private indexKey(key: string): string {
    return this.keys.key('rate', `{${key}}`, 'windows');
  }
}

function windowName(windowSeconds: number, startMs: number): string {
  return `${windowSeconds}s@${startMs}`;
}
