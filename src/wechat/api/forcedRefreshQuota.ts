import { shanghaiDate } from '../../clock/shanghaiTime';

/** WeChat's limits on forced access-token refreshes (stable_token with force_refresh). */
export const FORCED_REFRESHES_PER_DAY = 20;
export const FORCED_REFRESH_GAP_MS = 30_000;

/** The quota day holding `nowMs`, as `YYYY-MM-DD`: WeChat counts in Beijing time (UTC+8). */
export function forcedRefreshDay(nowMs: number): string {
  return shanghaiDate(nowMs);
}

/** Day counters outlive their day by a day, so a counter is never lost while its day lasts. */
export const FORCED_REFRESH_COUNTER_TTL_MS = 2 * 86_400_000;
