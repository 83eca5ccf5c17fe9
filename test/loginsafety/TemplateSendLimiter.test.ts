import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock/Clock';
import { TemplateSendLimiter, type TemplateSendLimits } from '../../src/loginsafety/TemplateSendLimiter';
import { MemoryRateLimiter } from '../../src/security/MemoryRateLimiter';
import type { RateLimiter } from '../../src/security/RateLimiter';
import { RedisRateLimiter } from '../../src/security/RedisRateLimiter';
import { RedisKeys } from '../../src/store/RedisKeys';
import { deleteKeys } from '../support/redisScan';
import { testRun } from '../support/testEnv';
import { useTestRedis } from '../store/support/testRedis';

const LIMITS: TemplateSendLimits = { perSecond: 4, dailyBudget: 1000, perRecipientPerMinute: 5, maxWaitMs: 60_000 };

/** The limiter on a ManualClock whose waits move that clock: a burst is spread over seconds without sleeping. */
function limiterOn(rateLimiter: (clock: ManualClock) => RateLimiter, limits: Partial<TemplateSendLimits> = {}) {
  // Half a second into a second, so the first wait is shorter than a whole second.
  const clock = new ManualClock(Date.UTC(2026, 11, 8, 2, 0, 0) + 500);
  const limiter = new TemplateSendLimiter(rateLimiter(clock), clock, { ...LIMITS, ...limits }, (ms) => {
    clock.advance(ms);
    return Promise.resolve();
  });
  return { clock, limiter };
}

for (const stack of ['memory', 'redis'] as const) {
  describe(`TemplateSendLimiter (${stack})`, () => {
    const redis = useTestRedis();
    const keys = new RedisKeys(`${testRun.redisPrefix}template-limiter:`);
    const rateLimiter = (clock: ManualClock): RateLimiter =>
      stack === 'memory' ? new MemoryRateLimiter(clock) : new RedisRateLimiter(redis.client, keys, clock);

    afterEach(async () => {
      await deleteKeys(redis.client, `${testRun.redisPrefix}template-limiter:*`);
    });

    it('spreads a burst over seconds: never more than perSecond sends in one second, every send granted', async () => {
      const { clock, limiter } = limiterOn(rateLimiter);
      const grantedAt: number[] = [];
      for (let i = 0; i < 10; i++) {
        const permit = await limiter.take(`o${i}`);
        assert.deepEqual(permit, { allowed: true });
        grantedAt.push(clock.now());
      }
      const perSecond = new Map<number, number>();
      for (const at of grantedAt) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
      assert.deepEqual([...perSecond.values()], [4, 4, 2]);
    });

    it('drops a send that would wait longer than maxWaitMs', async () => {
      const { limiter } = limiterOn(rateLimiter, { perSecond: 1, maxWaitMs: 600 });
      assert.deepEqual(await limiter.take('a'), { allowed: true });
      assert.deepEqual(await limiter.take('b'), { allowed: true }, 'half a second later, the next second');
      assert.deepEqual(await limiter.take('c'), { allowed: false, reason: 'backlog' });
    });

    it('drops sends past the daily budget', async () => {
      const { limiter } = limiterOn(rateLimiter, { dailyBudget: 3 });
      for (const openid of ['a', 'b', 'c']) assert.deepEqual(await limiter.take(openid), { allowed: true });
      assert.deepEqual(await limiter.take('d'), { allowed: false, reason: 'daily_budget' });
    });

    it('drops the sixth send to one WeChat user within a minute, and takes it again the next minute', async () => {
      const { clock, limiter } = limiterOn(rateLimiter, { perSecond: 100 });
      for (let i = 0; i < 5; i++) assert.deepEqual(await limiter.take('same'), { allowed: true });
      assert.deepEqual(await limiter.take('same'), { allowed: false, reason: 'recipient_limit' });
      assert.deepEqual(await limiter.take('other'), { allowed: true }, 'another user is not held back');
      clock.advance(60_000);
      assert.deepEqual(await limiter.take('same'), { allowed: true });
    });
  });
}
