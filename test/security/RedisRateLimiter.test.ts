import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock/Clock';
import { RedisRateLimiter } from '../../src/security/RedisRateLimiter';
import { createRedis, type Redis } from '../../src/store/createRedis';
import { RedisKeys } from '../../src/store/RedisKeys';
import { testRun } from '../support/testEnv';

// What every RateLimiter does is in test/store/rateLimiter.contract.ts; this is Redis's own part.
describe('security/RedisRateLimiter', () => {
  let redis: Redis;

  before(async () => {
    redis = createRedis(testRun.redisUrl, () => undefined);
    await redis.connect();
  });
  after(() => redis.close());

  it('gives every key it writes a TTL no longer than needed', async () => {
    const keys = new RedisKeys(`${testRun.redisPrefix}rate-${randomBytes(6).toString('hex')}:`);
    const limiter = new RedisRateLimiter(redis, keys, new ManualClock(Date.UTC(2031, 4, 1)));
    await limiter.hit('k', 5, 60);
    await limiter.hit('k', 5, 3600);
    const written = await redis.keys(`${keys.prefix}*`);
    assert.equal(written.length, 3);
    for (const key of written) {
      const ttl = await redis.ttl(key);
      assert.ok(ttl > 0 && ttl <= 3600, `${key} has TTL ${ttl}`);
    }
  });
});
