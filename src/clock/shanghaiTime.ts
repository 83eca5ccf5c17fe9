// China has kept UTC+8 all year since 1991, so a fixed offset is exact and needs no time-zone data.
const SHANGHAI_OFFSET_MS = 8 * 3600_000;

/** `YYYY-MM-DDTHH:mm:ss` of the Asia/Shanghai wall clock at `instant`. */
function wallClock(instant: Date | number): string {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19);
}

/** '2025-11-30': the calendar day in China (Beijing time), the day WeChat's daily quotas count in. */
export function shanghaiDate(instant: Date | number): string {
  return wallClock(instant).slice(0, 10);
}

/** '2025-11-30 10:15:00': the Asia/Shanghai time users read on pages. */
export function formatShanghaiTime(instant: Date | number): string {
  return wallClock(instant).replace('T', ' ');
}

/** '2025年11月30日 10:15': the Asia/Shanghai time in a template message, whose values WeChat cuts at 20 characters. */
export function formatShanghaiMinute(instant: Date | number): string {
  const [year, month, day, hour, minute] = wallClock(instant).split(/[-T:]/);
  return `${year}年${Number(month)}月${Number(day)}日 ${hour}:${minute}`;
}
