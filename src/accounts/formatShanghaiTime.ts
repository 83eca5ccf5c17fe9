// China has kept UTC+8 all year since 1991, so a fixed offset is exact and needs no time-zone data.
const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

/** '2025-11-30 10:15:00': the Asia/Shanghai wall-clock time users read on pages and in messages. */
export function formatShanghaiTime(instant: Date): string {
  return new Date(instant.getTime() + SHANGHAI_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}
