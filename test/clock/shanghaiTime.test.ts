import assert from 'node:assert/strict';
import { formatShanghaiMinute, formatShanghaiTime, shanghaiDate } from '../../src/clock/shanghaiTime';

/** The one Asia/Shanghai formatter every page, message and daily quota reads its time from. */
describe('clock: Asia/Shanghai time', () => {
  // 2026-12-07 16:05:09 UTC is 2026-12-08 00:05:09 in China: the day has already turned there.
  const justAfterMidnight = Date.UTC(2026, 11, 7, 16, 5, 9);

  it('formats the wall clock for pages, to the second', () => {
    assert.equal(formatShanghaiTime(justAfterMidnight), '2026-12-08 00:05:09');
    assert.equal(formatShanghaiTime(new Date(justAfterMidnight)), '2026-12-08 00:05:09');
  });

  it('formats it for template messages, to the minute, months and days without a leading zero', () => {
    assert.equal(formatShanghaiMinute(justAfterMidnight), '2026年12月8日 00:05');
    assert.equal(formatShanghaiMinute(Date.UTC(2026, 0, 2, 9, 30)), '2026年1月2日 17:30');
  });

  it('agrees with the time-zone database (China has no daylight saving)', () => {
    const zone = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'Asia/Shanghai',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    for (const month of [0, 3, 6, 9]) {
      const instant = Date.UTC(2026, month, 15, 18, 59, 59);
      const parts = Object.fromEntries(zone.formatToParts(instant).map((p) => [p.type, p.value]));
      assert.equal(
        formatShanghaiTime(instant),
        `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`,
      );
    }
  });

  it('names the day in China, the day WeChat counts its quotas in', () => {
    assert.equal(shanghaiDate(justAfterMidnight), '2026-12-08');
    assert.equal(shanghaiDate(justAfterMidnight - 10 * 60_000), '2026-12-07');
  });
});
