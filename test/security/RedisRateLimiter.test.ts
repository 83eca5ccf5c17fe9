import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock/Clock';
import { RedisRateLimiter } from '../../src/security/RedisRateLimiter';
import { createRedis, type Redis } from '../../src/store/createRedis';
import { RedisKeys } from '../../src/store/RedisKeys';
import { testRun } from '../support/testEnv';

const SECOND = 1000;
// A day boundary, so every window length used here starts exactly at START.
const START = Date.UTC(2031, 4, 1);

describe('security/RedisRateLimiter', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let clock: ManualClock;
  let limiter: RedisRateLimiter;

  before(async () => {
    redis = createRedis(testRun.redisUrl, () => undefined);
    await redis.connect();
  });
  after(() => redis.close());
  beforeEach(() => {
    keys = new RedisKeys(`${testRun.redisPrefix}rate-${randomBytes(6).toString('hex')}:`);
    clock = new ManualClock(START);
    limiter = new RedisRateLimiter(redis, keys, clock);
  });

  it('allows hits up to the limit and refuses the next, until the end of the window', async () => {
    for (let i = 1; i <= 3; i++) assert.deepEqual(await limiter.hit('k', 3, 60), { allowed: true, count: i, retryAfterSeconds: 0 });
    clock.advance(20 * SECOND);
    assert.deepEqual(await limiter.hit('k', 3, 60), { allowed: false, count: 4, retryAfterSeconds: 40 });
  });

  it('starts a new window at the window boundary of the clock, not 60 s after the first hit', async () => {
    clock.advance(50 * SECOND);
    await limiter.hit('k', 1, 60);
    assert.equal((await limiter.hit('k', 1, 60)).allowed, false);
    clock.advance(10 * SECOND);
    assert.deepEqual(await limiter.hit('k', 1, 60), { allowed: true, count: 1, retryAfterSeconds: 0 });
  });

  it('rounds a part-second wait up, so a client told to wait is not refused again', async () => {
    await limiter.hit('k', 0, 60);
    clock.advance(59_500);
    assert.equal((await limiter.hit('k', 0, 60)).retryAfterSeconds, 1);
  });

  it('peeks at the count without counting', async () => {
    assert.equal(await limiter.peek('k', 60), 0);
    await limiter.hit('k', 5, 60);
    await limiter.hit('k', 5, 60);
    assert.equal(await limiter.peek('k', 60), 2);
    assert.equal(await limiter.peek('k', 60), 2);
    clock.advance(60 * SECOND);
    assert.equal(await limiter.peek('k', 60), 0);
  });

  it('keeps separate counts per key and per window length', async () => {
    await limiter.hit('a', 5, 60);
    await limiter.hit('a', 5, 3600);
    await limiter.hit('a', 5, 3600);
    await limiter.hit('b', 5, 60);
    assert.equal(await limiter.peek('a', 60), 1);
    assert.equal(await limiter.peek('a', 3600), 2);
    assert.equal(await limiter.peek('b', 60), 1);
  });

  it('reset forgets every window of the key and nothing of other keys', async () => {
    await limiter.hit('a', 5, 60);
    await limiter.hit('a', 5, 86400);
    await limiter.hit('b', 5, 60);
    await limiter.reset('a');
    assert.equal(await limiter.peek('a', 60), 0);
    assert.equal(await limiter.peek('a', 86400), 0);
    assert.equal(await limiter.peek('b', 60), 1);
    assert.deepEqual(await limiter.hit('a', 1, 60), { allowed: true, count: 1, retryAfterSeconds: 0 });
  });

  it('gives every key it writes a TTL no longer than needed', async () => {
    await limiter.hit('k', 5, 60);
    await limiter.hit('k', 5, 3600);
    const written = await redis.keys(`${keys.prefix}*`);
    assert.equal(written.length, 3);
    for (const key of written) {
      const ttl = await redis.ttl(key);
      assert.ok(ttl > 0 && ttl <= 3600, `${key} has TTL ${ttl}`);
    }
  });

  it('lets exactly `limit` of many concurrent hits through', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => limiter.hit('k', 5, 60)));
    assert.equal(results.filter((r) => r.allowed).length, 5);
    assert.deepEqual(results.map((r) => r.count).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('refuses nonsense limits and windows', async () => {
    await assert.rejects(limiter.hit('k', -1, 60), RangeError);
    await assert.rejects(limiter.hit('k', 1, 0), RangeError);
    await assert.rejects(limiter.peek('k', 1.5), RangeError);
  });
});
