/** The outcome of one counted attempt. */
export interface RateLimitResult {
  /** True while the attempt is within the limit (count ≤ limit). */
  allowed: boolean;
  /** Attempts counted in the current window, this one included (refused ones count too). */
  count: number;
  /** Seconds until the current window ends when refused; 0 when allowed. */
  retryAfterSeconds: number;
}

/**
 * Fixed-window counters keyed by an opaque string (e.g. `sms-ip:<digest>`, `login:<accountId>`),
 * shared by every instance. Windows are aligned to multiples of windowSeconds on the injected clock,
 * so a test moves into the next window by moving its clock.
 */
export interface RateLimiter {
  /** Counts one attempt in the current window and says whether it is within `limit`. */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult>;
  /** Attempts counted so far in the current window; counts nothing. */
  peek(key: string, windowSeconds: number): Promise<number>;
  /** Forgets every window of `key` (e.g. failed logins after a successful one). */
  reset(key: string): Promise<void>;
}

/** The fixed window holding `nowMs`; shared by every implementation so they agree on boundaries. */
export function fixedWindow(nowMs: number, windowSeconds: number): { startMs: number; endMs: number } {
  if (!Number.isInteger(windowSeconds) || windowSeconds <= 0)
    throw new RangeError('windowSeconds must be a positive integer');
  const lengthMs = windowSeconds * 1000;
  const startMs = Math.floor(nowMs / lengthMs) * lengthMs;
  return { startMs, endMs: startMs + lengthMs };
}

/** What `hit` answers for a count, so every implementation answers alike. */
export function rateLimitResult(count: number, limit: number, nowMs: number, windowSeconds: number): RateLimitResult {
  const allowed = count <= limit;
  const { endMs } = fixedWindow(nowMs, windowSeconds);
  return { allowed, count, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((endMs - nowMs) / 1000)) };
}
