import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { SmsCodeIssue, SmsCodeStore, SmsSendCap } from '../../src/sms/SmsCodeStore';
import type { SmsPurpose } from '../../src/sms/SmsPurpose';
import { useStore, type OpenStore } from './support/storeFixture';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const CAPS: SmsSendCap[] = [
  { reason: 'daily_limit', limit: 10, windowMs: 24 * HOUR },
  { reason: 'hourly_limit', limit: 5, windowMs: HOUR },
];
const PHONE = 'digest-of-13812345678';
const OTHER_PHONE = 'digest-of-13912345678';
const OWNER = 'digest-of-the-requesting-openid';
const STRANGER = 'digest-of-another-openid';

/**
 * What SmsCodeService relies on: codes single use and voided by wrong tries, the resend gate, and
 * sliding-window caps per phone, each step atomic; all times are the caller's `nowMs`.
 */
export function describeSmsCodeStoreContract(name: string, open: OpenStore<SmsCodeStore>): void {
  describe(`${name} (SmsCodeStore contract)`, () => {
    const t = useStore(open);
    const issue = (code: string, purpose: SmsPurpose = 'bind', phoneDigest = PHONE, caps = CAPS, ownerDigest = OWNER) =>
      t.store.issue({
        phoneDigest,
        purpose,
        ownerDigest,
        code,
        nowMs: t.clock.now(),
        sendId: randomUUID(),
        codeTtlMs: 5 * MINUTE,
        resendAfterMs: MINUTE,
        caps,
      } satisfies SmsCodeIssue);
    const check = (candidate: string, purpose: SmsPurpose = 'bind', phoneDigest = PHONE, ownerDigest = OWNER) =>
      t.store.check({ phoneDigest, purpose, ownerDigest, candidate, nowMs: t.clock.now(), maxWrongTries: 5 });

    describe('codes', () => {
      it('accepts the code once', async () => {
        assert.deepEqual(await issue('123456'), { ok: true });
        assert.equal(await check('123456'), 'ok');
        assert.equal(await check('123456'), 'expired');
      });

      it('answers expired when no code was sent', async () => {
        assert.equal(await check('123456'), 'expired');
      });

      it("accepts the code until its lifetime is over, to the millisecond of the caller's clock", async () => {
        await issue('123456', 'bind');
        await issue('654321', 'register');
        // Only the clock moves: `nowMs` decides, the backend's own expiry merely cleans up behind it.
        t.clock.advance(5 * MINUTE - 1);
        assert.equal(await check('123456', 'bind'), 'ok');
        t.clock.advance(1);
        assert.equal(await check('654321', 'register'), 'expired');
      });

      it('is gone once its lifetime has passed for the backend too', async () => {
        await issue('123456');
        await t.advance(5 * MINUTE);
        assert.equal(await check('123456'), 'expired');
        await issue('654321');
        assert.equal(await check('654321'), 'ok');
      });

      it('counts wrong tries: the right code still works after 4, the 5th voids it', async () => {
        await issue('123456', 'bind');
        for (let i = 0; i < 4; i++) assert.equal(await check('000000', 'bind'), 'wrong');
        assert.equal(await check('123456', 'bind'), 'ok');
        await issue('654321', 'register');
        for (let i = 0; i < 5; i++) assert.equal(await check('000000', 'register'), 'wrong');
        assert.equal(await check('654321', 'register'), 'expired');
      });

      it('counts a candidate of another length, or an empty one, as a wrong try', async () => {
        await issue('123456');
        for (const candidate of ['', '12345', '1234567', '1234560']) assert.equal(await check(candidate), 'wrong');
        assert.equal(await check('123456'), 'ok');
      });

      it('keeps phones and purposes apart', async () => {
        await issue('111111', 'bind', PHONE);
        await issue('222222', 'register', PHONE);
        await issue('333333', 'bind', OTHER_PHONE);
        assert.equal(await check('222222', 'bind', PHONE), 'wrong');
        for (let i = 0; i < 5; i++) await check('000000', 'bind', OTHER_PHONE);
        assert.equal(await check('111111', 'bind', PHONE), 'ok');
        assert.equal(await check('222222', 'register', PHONE), 'ok');
      });

      it("is checked only for its owner: another owner's candidates, right or wrong, find nothing and neither count nor void it", async () => {
        await issue('123456');
        for (let i = 0; i < 20; i++) assert.equal(await check('000000', 'bind', PHONE, STRANGER), 'expired');
        assert.equal(await check('123456', 'bind', PHONE, STRANGER), 'expired');
        for (let i = 0; i < 4; i++) assert.equal(await check('000000'), 'wrong');
        assert.equal(await check('123456'), 'ok');
      });

      it("keeps an owner's code when another owner is sent one for the same phone and purpose", async () => {
        await issue('111111');
        await t.advance(MINUTE);
        assert.deepEqual(await issue('222222', 'bind', PHONE, CAPS, STRANGER), { ok: true });
        assert.equal(await check('222222'), 'wrong');
        assert.equal(await check('111111'), 'ok');
        assert.equal(await check('222222', 'bind', PHONE, STRANGER), 'ok');
      });

      it('accepts the right code exactly once when 10 checks race', async () => {
        await issue('123456');
        const results = await Promise.all(Array.from({ length: 10 }, () => check('123456')));
        assert.equal(results.filter((r) => r === 'ok').length, 1);
        assert.equal(results.filter((r) => r === 'expired').length, 9);
      });

      it('counts every one of 20 racing wrong tries: 5 are wrong, then the code is gone', async () => {
        await issue('123456');
        const results = await Promise.all(Array.from({ length: 20 }, () => check('000000')));
        assert.equal(results.filter((r) => r === 'wrong').length, 5);
        assert.equal(results.filter((r) => r === 'expired').length, 15);
      });
    });

    describe('the resend gate', () => {
      it('refuses a new code for the phone and purpose until resendAfterMs, saying how long, and changes nothing', async () => {
        await issue('111111');
        await t.advance(59_500);
        assert.deepEqual(await issue('222222'), { ok: false, reason: 'resend_too_soon', retryAfterMs: 500 });
        assert.equal(await check('111111'), 'ok');
      });

      it('replaces the code once the gate opens', async () => {
        await issue('111111');
        await t.advance(MINUTE);
        assert.deepEqual(await issue('222222'), { ok: true });
        assert.equal(await check('111111'), 'wrong');
        assert.equal(await check('222222'), 'ok');
      });

      it('is per purpose: a code for one purpose does not hold back the other', async () => {
        await issue('111111', 'bind');
        assert.deepEqual(await issue('222222', 'register'), { ok: true });
      });

      it('is per phone and purpose, whoever asks: another owner waits too', async () => {
        await issue('111111');
        const refused = await issue('222222', 'bind', PHONE, CAPS, STRANGER);
        assert.equal(!refused.ok && refused.reason, 'resend_too_soon');
      });

      it('lets exactly one of 10 racing sends through', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => issue(String(100000 + i))));
        assert.equal(results.filter((r) => r.ok).length, 1);
        assert.ok(results.every((r) => r.ok || r.reason === 'resend_too_soon'));
      });
    });

    describe('caps', () => {
      it('refuses a send past a cap counting any window span, across purposes, saying when the next fits', async () => {
        for (let i = 0; i < 5; i++) {
          assert.deepEqual(await issue('123456', i % 2 === 0 ? 'bind' : 'register'), { ok: true });
          await t.advance(61 * SECOND);
        }
        // The first send, 305 s ago, leaves the hour in 3295 s.
        assert.deepEqual(await issue('123456', 'register'), {
          ok: false,
          reason: 'hourly_limit',
          retryAfterMs: 3295 * SECOND,
        });
        await t.advance(3295 * SECOND - 1);
        assert.equal((await issue('123456', 'register')).ok, false);
        await t.advance(1);
        assert.deepEqual(await issue('123456', 'register'), { ok: true });
      });

      it('answers with the first cap in order that is reached', async () => {
        for (let i = 0; i < 10; i++) {
          assert.deepEqual(await issue('123456'), { ok: true });
          await t.advance(i === 4 ? 2 * HOUR : 61 * SECOND);
        }
        // Both caps are reached now; the daily one comes first. 10 sends began 2 h + 9×61 s ago.
        const refused = await issue('123456');
        assert.equal(refused.ok, false);
        assert.equal(!refused.ok && refused.reason, 'daily_limit');
        assert.equal(!refused.ok && refused.retryAfterMs, 24 * HOUR - (2 * HOUR + 9 * 61 * SECOND));
      });

      it('counts only sends that went out, not refused ones', async () => {
        for (let i = 0; i < 5; i++) {
          assert.deepEqual(await issue('123456'), { ok: true });
          for (let j = 0; j < 3; j++) assert.equal((await issue('123456')).ok, false);
          await t.advance(MINUTE);
        }
        await t.advance(HOUR - 5 * MINUTE);
        assert.deepEqual(await issue('123456'), { ok: true });
      });

      it('keeps phones apart', async () => {
        for (let i = 0; i < 5; i++) {
          await issue('123456', 'bind', PHONE);
          await t.advance(MINUTE);
        }
        assert.equal((await issue('123456', 'bind', PHONE)).ok, false);
        assert.deepEqual(await issue('123456', 'bind', OTHER_PHONE), { ok: true });
      });
    });
  });
}
