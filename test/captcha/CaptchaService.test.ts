import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CaptchaService } from '../../src/captcha/CaptchaService';
import { RedisCaptchaStore } from '../../src/captcha/RedisCaptchaStore';
import { ManualClock } from '../../src/clock/Clock';
import { createRedis, type Redis } from '../../src/store/createRedis';
import { RedisKeys } from '../../src/store/RedisKeys';
import { testRun } from '../support/testEnv';

describe('captcha/CaptchaService', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let clock: ManualClock;
  let captcha: CaptchaService;

  before(async () => {
    redis = createRedis(testRun.redisUrl, () => undefined);
    await redis.connect();
  });
  after(() => redis.close());
  beforeEach(() => {
    keys = new RedisKeys(`${testRun.redisPrefix}captcha-${randomBytes(6).toString('hex')}:`);
    clock = new ManualClock();
    captcha = new CaptchaService({ store: new RedisCaptchaStore(redis, keys), clock });
  });

  it('issues an SVG image and an answer of 4 characters without look-alikes', async () => {
    const answers = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const { svg, answer } = await captcha.issue(`s${i}:bind`);
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>$/);
      assert.match(answer, /^[2-9A-HJKMNPR-Z]{4}$/);
      answers.add(answer);
    }
    assert.ok(answers.size > 30, 'answers vary');
  });

  it('draws 5 characters when asked to', async () => {
    const five = new CaptchaService({ store: new RedisCaptchaStore(redis, keys), clock, length: 5 });
    assert.equal((await five.issue('s:bind')).answer.length, 5);
  });

  it('accepts the right answer once, then refuses it', async () => {
    const { answer } = await captcha.issue('s:bind');
    assert.equal(await captcha.consume('s:bind', answer), true);
    assert.equal(await captcha.consume('s:bind', answer), false);
  });

  it('uses the answer up on a wrong guess too', async () => {
    const { answer } = await captcha.issue('s:bind');
    assert.equal(await captcha.consume('s:bind', 'WRONG'), false);
    assert.equal(await captcha.consume('s:bind', answer), false);
  });

  it('ignores case and surrounding spaces', async () => {
    const { answer } = await captcha.issue('s:bind');
    assert.equal(await captcha.consume('s:bind', ` ${answer.toLowerCase()}\t`), true);
  });

  it('refuses an answer given after 5 minutes', async () => {
    const { answer } = await captcha.issue('s:bind');
    clock.advance(300_000);
    assert.equal(await captcha.consume('s:bind', answer), false);
  });

  it('accepts an answer given just before 5 minutes are up', async () => {
    const { answer } = await captcha.issue('s:bind');
    clock.advance(299_999);
    assert.equal(await captcha.consume('s:bind', answer), true);
  });

  it('keeps only the latest captcha of a scope', async () => {
    const first = await captcha.issue('s:bind');
    let second = await captcha.issue('s:bind');
    while (second.answer === first.answer) second = await captcha.issue('s:bind');
    assert.equal(await captcha.consume('s:bind', first.answer), false);
    const third = await captcha.issue('s:bind');
    assert.equal(await captcha.consume('s:bind', third.answer), true);
  });

  it('keeps scopes apart: using up one leaves the others', async () => {
    const bind = await captcha.issue('s:bind');
    await captcha.issue('s:sms');
    const other = await captcha.issue('t:bind');
    assert.equal(await captcha.consume('s:sms', 'WRONG'), false);
    assert.equal(await captcha.consume('s:bind', bind.answer), true);
    assert.equal(await captcha.consume('t:bind', other.answer), true);
  });

  it('lets only one of many concurrent right answers through', async () => {
    const { answer } = await captcha.issue('s:bind');
    const results = await Promise.all(Array.from({ length: 10 }, () => captcha.consume('s:bind', answer)));
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('refuses a scope that was never issued', async () => {
    assert.equal(await captcha.consume('nobody:bind', 'ABCD'), false);
  });

  it('stores the answer with a TTL', async () => {
    await captcha.issue('s:bind');
    const ttl = await redis.ttl(keys.key('captcha', 's:bind'));
    assert.ok(ttl > 0 && ttl <= 300);
  });
});
