import type { Clock } from '../clock/Clock';
import { ExpiringMap } from '../store/ExpiringMap';
import { fixedWindow, rateLimitResult, type RateLimiter, type RateLimitResult } from './RateLimiter';

interface WindowCount {
  count: number;
  /** Clock time (ms) the window ends; it is never read again after that. */
  endMs: number;
}

/**
 * Fixed-window counters in this process (REDIS_URL=memory). Each key holds its current windows
 * (one per window length); a key lives as long as its longest window, so keys nobody hits again
 * are swept out.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windowsByKey: ExpiringMap<Map<string, WindowCount>>;

  constructor(private readonly clock: Clock) {
    this.windowsByKey = new ExpiringMap(clock);
  }

  // Bad arguments reject, as they do in Redis, rather than throw at the caller.
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
    return new Promise((resolve) => resolve(this.count(key, limit, windowSeconds)));
  }

  peek(key: string, windowSeconds: number): Promise<number> {
    return new Promise((resolve) => {
      const now = this.clock.now();
      const { startMs } = fixedWindow(now, windowSeconds);
      resolve(this.windowsByKey.get(key)?.get(windowName(windowSeconds, startMs))?.count ?? 0);
    });
  }

  reset(key: string): Promise<void> {
    this.windowsByKey.delete(key);
    return Promise.resolve();
  }

  private count(key: string, limit: number, windowSeconds: number): RateLimitResult {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError('limit must be a non-negative integer');
    const now = this.clock.now();
    const { startMs, endMs } = fixedWindow(now, windowSeconds);
    const windows = this.windowsByKey.get(key) ?? new Map<string, WindowCount>();
    for (const [name, window] of windows) if (window.endMs <= now) windows.delete(name);
    const name = windowName(windowSeconds, startMs);
    const window = windows.get(name) ?? { count: 0, endMs };
    window.count += 1;
    windows.set(name, window);
    const longestEnd = Math.max(...[...windows.values()].map((w) => w.endMs));
    this.windowsByKey.set(key, windows, longestEnd - now);
    return rateLimitResult(window.count, limit, now, windowSeconds);
  }
}

function windowName(windowSeconds: number, startMs: number): string {
  return `${windowSeconds}s@${startMs}`;
}
