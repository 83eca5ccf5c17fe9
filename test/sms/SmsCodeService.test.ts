import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock/Clock';
import { RedisRateLimiter } from '../../src/security/RedisRateLimiter';
import { RedisSmsCodeStore } from '../../src/sms/RedisSmsCodeStore';
import { SmsCodeService } from '../../src/sms/SmsCodeService';
import { SmsDeliveryError } from '../../src/sms/SmsDeliveryError';
import type { SmsMessage, SmsSender } from '../../src/sms/SmsSender';
import { SmsSubjectDigest } from '../../src/sms/SmsSubjectDigest';
import { createRedis, type Redis } from '../../src/store/createRedis';
import { RedisKeys } from '../../src/store/RedisKeys';
import { testRun } from '../support/testEnv';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const PHONE = '13812345678';
const OTHER_PHONE = '13912345678';
const IP = '203.0.113.7';
const REQUESTER = 'o-requester-openid';
const STRANGER = 'o-stranger-openid';

class RecordingSender implements SmsSender {
  readonly sent: SmsMessage[] = [];
  failWith: Error | null = null;
  send(message: SmsMessage): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.sent.push(message);
    return Promise.resolve();
  }
  lastCodeTo(phone: string): string {
    const message = this.sent.filter((m) => m.phone === phone).at(-1);
    assert.ok(message?.kind === 'code', `no code sent to ${phone}`);
    return message.code;
  }
}

describe('sms/SmsCodeService', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let clock: ManualClock;
  let sender: RecordingSender;
  let codes: SmsCodeService;

  function service(ipDailyLimit?: number): SmsCodeService {
    return new SmsCodeService({
      store: new RedisSmsCodeStore(redis, keys),
      rateLimiter: new RedisRateLimiter(redis, keys, clock),
      sender,
      clock,
      subjects: new SmsSubjectDigest(Buffer.alloc(32, 7)),
      ...(ipDailyLimit !== undefined ? { ipDailyLimit } : {}),
    });
  }

  /** Sends and returns the code that went out. */
  async function sendCode(phone = PHONE, purpose: 'bind' | 'register' = 'bind', ip = IP): Promise<string> {
    assert.deepEqual(await codes.send({ phone, purpose, ip, requester: REQUESTER }), {
      ok: true,
      resendAfterSeconds: 60,
    });
    return sender.lastCodeTo(phone);
  }

  function wrongFor(code: string): string {
    return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
  }

  before(async () => {
    redis = createRedis(testRun.redisUrl, () => undefined);
    await redis.connect();
  });
  after(() => redis.close());
  beforeEach(() => {
    keys = new RedisKeys(`${testRun.redisPrefix}sms-${randomBytes(6).toString('hex')}:`);
    // Midnight UTC, where a per-IP day window starts, so the wait it announces is predictable.
    clock = new ManualClock(Date.UTC(2031, 4, 1, 0, 0, 0));
    sender = new RecordingSender();
    codes = service();
  });

  describe('sending', () => {
    it('sends a 6-digit code with the purpose in the text', async () => {
      const code = await sendCode(PHONE, 'register');
      assert.match(code, /^\d{6}$/);
      const [message] = sender.sent;
      assert.equal(message!.phone, PHONE);
      assert.equal(message!.purpose, 'register');
      assert.equal(
        message!.text,
        `【福建税务】您的验证码为${code}，用于实名注册，5分钟内有效。如非本人操作，请忽略本短信。`,
      );
    });

    it('sends the account-exists notice instead of a code through the same limits, and no candidate verifies', async () => {
      const phone = PHONE;
      assert.deepEqual(
        await codes.send({ phone, purpose: 'register', ip: IP, requester: REQUESTER, content: 'account_exists' }),
        { ok: true, resendAfterSeconds: 60 },
      );
      const [notice] = sender.sent;
      assert.equal(notice!.kind, 'account_exists');
      assert.ok(!/\d{6}/.test(notice!.text), 'no code in the notice');
      const again = await codes.send({ phone, purpose: 'register', ip: IP, requester: REQUESTER });
      assert.equal(!again.ok && again.reason, 'resend_too_soon', 'the resend gate counts it as any send');
      for (const candidate of ['000000', '123456', '------', ''])
        assert.equal(
          await codes.verify({ phone, purpose: 'register', code: candidate, requester: REQUESTER }),
          'wrong',
        );
    });

    it('draws codes at random', async () => {
      const drawn = new Set<string>();
      for (let i = 0; i < 30; i++) drawn.add(await sendCode(`1380000${String(i).padStart(4, '0')}`));
      assert.ok(drawn.size >= 28, `only ${drawn.size} distinct codes of 30`);
    });

    it('refuses a second code for the same phone and purpose within 60 s, and sends nothing', async () => {
      await sendCode();
      clock.advance(59_500);
      assert.deepEqual(await codes.send({ phone: PHONE, purpose: 'bind', ip: IP, requester: REQUESTER }), {
        ok: false,
        reason: 'resend_too_soon',
        retryAfterSeconds: 1,
      });
      assert.equal(sender.sent.length, 1);
    });

    it('sends a new code after 60 s, and only the new code counts', async () => {
      const first = await sendCode();
      clock.advance(60 * SECOND);
      let second = await sendCode();
      while (second === first) {
        clock.advance(60 * SECOND);
        second = await sendCode();
      }
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code: first, requester: REQUESTER }), 'wrong');
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code: second, requester: REQUESTER }), 'ok');
    });

    it('allows 5 sends an hour per phone, counting any 60 minutes, and says when the next fits', async () => {
      for (let i = 0; i < 5; i++) {
        await sendCode(PHONE, i % 2 === 0 ? 'bind' : 'register');
        clock.advance(61 * SECOND);
      }
      // The first send, 305 s ago, leaves the hour in 3295 s.
      assert.deepEqual(await codes.send({ phone: PHONE, purpose: 'register', ip: IP, requester: REQUESTER }), {
        ok: false,
        reason: 'hourly_limit',
        retryAfterSeconds: 3295,
      });
      clock.advance(3294 * SECOND);
      assert.equal((await codes.send({ phone: PHONE, purpose: 'register', ip: IP, requester: REQUESTER })).ok, false);
      clock.advance(1 * SECOND);
      await sendCode(PHONE, 'register');
      assert.equal(sender.sent.length, 6);
    });

    it('allows 10 sends a day per phone across purposes', async () => {
      for (let i = 0; i < 10; i++) {
        await sendCode(PHONE, i % 2 === 0 ? 'bind' : 'register');
        clock.advance(2 * HOUR);
      }
      // 20 h after the first send: 4 h until it leaves the day.
      assert.deepEqual(await codes.send({ phone: PHONE, purpose: 'bind', ip: IP, requester: REQUESTER }), {
        ok: false,
        reason: 'daily_limit',
        retryAfterSeconds: 4 * 3600,
      });
      clock.advance(4 * HOUR);
      await sendCode();
    });

    it('does not count refused sends towards the phone limits', async () => {
      for (let i = 0; i < 5; i++) {
        await sendCode();
        for (let j = 0; j < 3; j++)
          assert.equal((await codes.send({ phone: PHONE, purpose: 'bind', ip: IP, requester: REQUESTER })).ok, false);
        clock.advance(60 * SECOND);
      }
      assert.equal(sender.sent.length, 5);
    });

    it('caps sends per IP a day, for any phones, and counts only sends that went out', async () => {
      codes = service(2);
      await sendCode(PHONE);
      assert.equal((await codes.send({ phone: PHONE, purpose: 'bind', ip: IP, requester: REQUESTER })).ok, false); // too soon: not counted
      await sendCode(OTHER_PHONE);
      const refused = await codes.send({ phone: '13712345678', purpose: 'bind', ip: IP, requester: REQUESTER });
      assert.deepEqual(refused, { ok: false, reason: 'ip_daily_limit', retryAfterSeconds: 86400 });
      // The refused phone has used none of its own limits; another IP may send to it at once.
      await sendCode('13712345678', 'bind', '198.51.100.1');
      clock.advance(24 * HOUR);
      await sendCode('13612345678');
    });

    it('keeps purposes apart: a code for one purpose is not valid for the other, nor does it delay it', async () => {
      const bindCode = await sendCode(PHONE, 'bind');
      assert.equal(
        await codes.verify({ phone: PHONE, purpose: 'register', code: bindCode, requester: REQUESTER }),
        'expired',
      );
      const registerCode = await sendCode(PHONE, 'register');
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code: bindCode, requester: REQUESTER }), 'ok');
      assert.equal(
        await codes.verify({ phone: PHONE, purpose: 'register', code: registerCode, requester: REQUESTER }),
        'ok',
      );
    });

    it('sends one code when ten requests race', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, () => codes.send({ phone: PHONE, purpose: 'bind', ip: IP, requester: REQUESTER })),
      );
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'resend_too_soon'));
      assert.equal(sender.sent.length, 1);
    });

    it('refuses a phone that is not a mainland mobile number before anything else', async () => {
      await assert.rejects(
        codes.send({ phone: '12345678901', purpose: 'bind', ip: IP, requester: REQUESTER }),
        RangeError,
      );
      await assert.rejects(
        codes.send({ phone: '+8613812345678', purpose: 'bind', ip: IP, requester: REQUESTER }),
        RangeError,
      );
      assert.equal(sender.sent.length, 0);
    });

    it('passes on a provider failure', async () => {
      sender.failWith = new SmsDeliveryError('LimitExceeded.PhoneNumberDailyLimit', 'refused');
      await assert.rejects(
        codes.send({ phone: PHONE, purpose: 'bind', ip: IP, requester: REQUESTER }),
        SmsDeliveryError,
      );
    });

    it('keeps no phone number or IP in Redis, and gives every key a TTL', async () => {
      const code = await sendCode();
      await codes.verify({ phone: PHONE, purpose: 'bind', code: wrongFor(code), requester: REQUESTER });
      const written = await redis.keys(`${keys.prefix}*`);
      assert.ok(written.length >= 4);
      for (const key of written) {
        assert.ok(!key.includes(PHONE) && !key.includes(IP), key);
        assert.ok((await redis.pTTL(key)) > 0, `${key} has no TTL`);
        const type = await redis.type(key);
        const content =
          type === 'string'
            ? await redis.get(key)
            : JSON.stringify(type === 'hash' ? await redis.hGetAll(key) : await redis.zRange(key, 0, -1));
        assert.ok(!content?.includes(PHONE), `${key} holds the phone`);
      }
    });
  });

  describe('verifying', () => {
    it('accepts the code once', async () => {
      const code = await sendCode();
      assert.equal(
        await codes.verify({ phone: PHONE, purpose: 'bind', code: ` ${code} `, requester: REQUESTER }),
        'ok',
      );
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'expired');
    });

    it('answers expired when no code was sent', async () => {
      assert.equal(
        await codes.verify({ phone: PHONE, purpose: 'bind', code: '123456', requester: REQUESTER }),
        'expired',
      );
    });

    it('accepts the code until 5 minutes have passed', async () => {
      const code = await sendCode();
      clock.advance(5 * MINUTE - 1);
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'ok');
    });

    it('answers expired 5 minutes after sending', async () => {
      const code = await sendCode();
      clock.advance(5 * MINUTE);
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'expired');
    });

    it('accepts the right code after 4 wrong tries', async () => {
      const code = await sendCode();
      for (let i = 0; i < 4; i++)
        assert.equal(
          await codes.verify({ phone: PHONE, purpose: 'bind', code: wrongFor(code), requester: REQUESTER }),
          'wrong',
        );
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'ok');
    });

    it('voids the code after 5 wrong tries, even when the 6th is right', async () => {
      const code = await sendCode();
      for (let i = 0; i < 5; i++)
        assert.equal(
          await codes.verify({ phone: PHONE, purpose: 'bind', code: wrongFor(code), requester: REQUESTER }),
          'wrong',
        );
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'expired');
    });

    it('counts malformed input as a wrong try', async () => {
      const code = await sendCode();
      for (const bad of ['', '12345', '1234567', 'abcdef', `${code}0`])
        assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code: bad, requester: REQUESTER }), 'wrong');
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'expired');
    });

    it('keeps phones apart', async () => {
      const code = await sendCode(PHONE);
      await sendCode(OTHER_PHONE);
      for (let i = 0; i < 5; i++)
        await codes.verify({
          phone: OTHER_PHONE,
          purpose: 'bind',
          code: wrongFor(sender.lastCodeTo(OTHER_PHONE)),
          requester: REQUESTER,
        });
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'ok');
    });

    it("V6.6.3: verifies a code only for the WeChat user who asked for it: a stranger's tries, right or wrong, neither use, count against nor void it", async () => {
      const code = await sendCode();
      for (let i = 0; i < 10; i++)
        assert.equal(
          await codes.verify({ phone: PHONE, purpose: 'bind', code: wrongFor(code), requester: STRANGER }),
          'expired',
        );
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: STRANGER }), 'expired');
      for (let i = 0; i < 4; i++)
        assert.equal(
          await codes.verify({ phone: PHONE, purpose: 'bind', code: wrongFor(code), requester: REQUESTER }),
          'wrong',
        );
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'ok');
    });

    it('accepts the right code exactly once when ten checks race', async () => {
      const code = await sendCode();
      const results = await Promise.all(
        Array.from({ length: 10 }, () => codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER })),
      );
      assert.equal(results.filter((r) => r === 'ok').length, 1);
      assert.equal(results.filter((r) => r === 'expired').length, 9);
    });

    it('counts every one of many racing wrong tries, so a burst of guesses gets 5 and no more', async () => {
      const code = await sendCode();
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          codes.verify({ phone: PHONE, purpose: 'bind', code: wrongFor(code), requester: REQUESTER }),
        ),
      );
      assert.equal(results.filter((r) => r === 'wrong').length, 5);
      assert.equal(results.filter((r) => r === 'expired').length, 15);
      assert.equal(await codes.verify({ phone: PHONE, purpose: 'bind', code, requester: REQUESTER }), 'expired');
    });
  });
});
