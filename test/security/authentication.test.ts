import assert from 'node:assert/strict';
import request from 'supertest';
import { ManualClock } from '../../src/clock/Clock';
import { MemoryRateLimiter } from '../../src/security/MemoryRateLimiter';
import {
  DEFAULT_ATTEMPT_LIMITS,
  FormAttemptLimiter,
  PHONE_MISMATCH_LIMITS,
} from '../../src/security/FormAttemptLimiter';
import { visibleText, type H5Client } from '../support/H5Client';
import { LogCapture } from './support/logCapture';
import { API_KEY, World } from './support/world';

const MINUTE = 60_000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * ASVS V6 (authentication) and V16.3.1 (authentication events logged) for 实名绑定's 登录, the
 * authenticate API and the SMS codes. The controls and their numbers are in docs/security.md.
 */
describe('security: authentication (ASVS V6.3.1, V6.3.8, V6.6.3, V16.3.1)', () => {
  const logs = new LogCapture('info');
  const w = new World({ logger: logs.logger });
  before(() => w.start());
  after(() => w.stop());
  beforeEach(async () => {
    await w.reset();
    logs.clear();
  });

  const failures = async (reason: string) =>
    (await w.audit('bind_failed')).filter((e) => (e.detail as { reason: string }).reason === reason).length;
  async function loginAttempt(client: H5Client, loginName: string, password: string, captcha?: string) {
    const page = await client.open('/h5/bind');
    const answer = captcha ?? (await client.captcha('bind-login'));
    return client.post('/h5/bind/login', { _csrf: client.csrfToken(page.text), loginName, password, captcha: answer });
  }

  describe('V6.3.1: brute force and credential stuffing', () => {
    it('V6.3.1: makes a WeChat user that failed 5 times on a 登录账号 wait, growing, without locking the account for its owner elsewhere (also loginThrottle.test, bindFlow, accountRoutes)', async () => {
      const taxpayer = await w.quickAccount();
      const user = w.newUser();
      for (let i = 0; i < 5; i++) assert.equal((await loginAttempt(user, taxpayer.idNumber, `wrong-${i}`)).status, 401);
      const waiting = await loginAttempt(user, taxpayer.idNumber, taxpayer.password);
      assert.equal(waiting.status, 429, 'the right password waits too');
      assert.equal(waiting.headers['retry-after'], '15');
      const api = () => request(w.t.app.callback()).post('/api/accounts/authenticate').set('Authorization', API_KEY);
      assert.equal(
        (await api().send({ loginName: taxpayer.idNumber, password: taxpayer.password })).status,
        200,
        'the owner through the portal is not locked out',
      );
      assert.equal(
        (await loginAttempt(w.newUser(), taxpayer.idNumber, taxpayer.password)).status,
        302,
        'nor on another WeChat',
      );
      w.clock.advance(15_000);
      assert.equal((await loginAttempt(user, taxpayer.idNumber, 'wrong-6')).status, 401);
      assert.equal(
        (await loginAttempt(user, taxpayer.idNumber, taxpayer.password)).headers['retry-after'],
        '30',
        'the next wait is twice as long',
      );
    });

    it('V6.3.1: stops a wrong-captcha flood from one WeChat user at 10 tries per 15 minutes, new sessions included, spending no captcha, password check or audit row per refused try', async () => {
      const taxpayer = await w.quickAccount();
      const user = w.newUser();
      const answers: number[] = [];
      for (let i = 0; i < 25; i++)
        answers.push((await loginAttempt(user, taxpayer.idNumber, taxpayer.password, 'ZZZZ')).status);
      assert.deepEqual(answers, [...Array(10).fill(400), ...Array(15).fill(429)]);
      // Another session of the same WeChat (OAuth again) is the same user.
      const again = w.sameUser(user.openid);
      const refused = await loginAttempt(again, taxpayer.idNumber, taxpayer.password);
      assert.equal(refused.status, 429, 'even with the right captcha and password');
      assert.match(visibleText(refused.text), /尝试次数过多，请 \d+ 分钟后再试/);
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assert.equal(await failures('captcha_wrong'), 10);
      assert.equal(await failures('too_many_attempts'), 1, 'the flood is audited once per window');
      assert.equal((await w.audit('authenticate_failed')).length, 0, 'no password was checked');
      // Another WeChat user is not affected, and the first is let in again once the window is over.
      assert.equal((await loginAttempt(w.newUser(), taxpayer.idNumber, taxpayer.password)).status, 302);
      w.clock.advance(15 * MINUTE);
      assert.equal((await loginAttempt(again, taxpayer.idNumber, taxpayer.password)).status, 302);
    });

    it('V6.3.1: stops credential stuffing: one WeChat user trying many accounts (right captchas, wrong passwords) gets 10 tries, not one per account', async () => {
      const accounts = await Promise.all(Array.from({ length: 12 }, () => w.quickAccount()));
      const user = w.newUser();
      const answers = [];
      for (const account of accounts)
        answers.push((await loginAttempt(user, account.idNumber, 'leaked-password-1')).status);
      assert.deepEqual(answers, [...Array(10).fill(401), 429, 429]);
      const failed = await w.audit('authenticate_failed');
      const tried = accounts.map((a) => failed.filter((e) => e.accountId === a.account.id).length);
      assert.deepEqual(tried, [...Array(10).fill(1), 0, 0], 'the last accounts were never tried');
    });

    it(`V6.3.1: caps 登录 and 获取验证码 tries per client IP at ${DEFAULT_ATTEMPT_LIMITS.perIp.limit} an hour across WeChat users (FormAttemptLimiter)`, async () => {
      const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
      const limiter = new FormAttemptLimiter(new MemoryRateLimiter(clock), Buffer.alloc(32, 9));
      const { limit } = DEFAULT_ATTEMPT_LIMITS.perIp;
      for (let i = 0; i < limit; i++)
        assert.ok(
          (await limiter.attempt('bind-login', { openid: `o-user-${i}`, ip: '203.0.113.50' })).allowed,
          `try ${i + 1}`,
        );
      const refused = await limiter.attempt('bind-login', { openid: 'o-user-new', ip: '203.0.113.50' });
      assert.deepEqual(refused.allowed, false);
      assert.ok(!refused.allowed && refused.firstRefusal && refused.retryAfterSeconds > 0);
      assert.ok(
        (await limiter.attempt('bind-login', { openid: 'o-user-new', ip: '198.51.100.1' })).allowed,
        'other IPs are not affected',
      );
      assert.ok(
        (await limiter.attempt('register-sms', { openid: 'o-user-new', ip: '203.0.113.50' })).allowed,
        'each form counts on its own',
      );
      clock.advance(DEFAULT_ATTEMPT_LIMITS.perIp.windowSeconds * 1000);
      assert.ok(
        (await limiter.attempt('bind-login', { openid: 'o-user-new', ip: '203.0.113.50' })).allowed,
        'a new window',
      );
    });

    it('V6.3.1: stops a 获取验证码 captcha flood the same way, on 实名绑定 and 实名注册', async () => {
      const taxpayer = await w.quickAccount();
      const binder = w.newUser();
      assert.equal((await loginAttempt(binder, taxpayer.idNumber, taxpayer.password)).status, 302);
      assert.equal((await binder.submit('/h5/bind', '/h5/bind/sms', { phone: taxpayer.phone })).status, 302);
      const smsPage = await binder.open('/h5/bind/sms');
      const bindAnswers = [];
      for (let i = 0; i < 12; i++)
        bindAnswers.push(
          (await binder.post('/h5/bind/sms/send', { _csrf: binder.csrfToken(smsPage.text), captcha: 'ZZZZ' })).status,
        );
      assert.deepEqual(bindAnswers, [...Array(10).fill(400), 429, 429]);
      const registrant = w.newUser();
      const form = w.newForm();
      const page = await registrant.open('/h5/register');
      const registerAnswers = [];
      for (let i = 0; i < 12; i++) {
        registerAnswers.push(
          (
            await registrant.post('/h5/register/sms', {
              _csrf: registrant.csrfToken(page.text),
              ...form,
              captcha: 'ZZZZ',
            })
          ).status,
        );
      }
      assert.deepEqual(registerAnswers, [...Array(10).fill(400), 429, 429]);
      assert.equal(w.t.deps.smsOutbox!.forPhone(form.phone).length, 0);
    });
  });

  it(`V6.3.1: stops guessing the phone behind 实名绑定's mask: after ${PHONE_MISMATCH_LIMITS.perUser.limit} mismatches in 15 minutes the 登录 step is cleared and the taxpayer starts again`, async () => {
    const taxpayer = await w.quickAccount();
    const user = w.newUser();
    assert.equal((await w.bindLogin(user, taxpayer.idNumber, taxpayer.password)).status, 302);
    // The page shows 138****5678-style masks: an attacker holding the password walks the 4 hidden digits.
    const guesses = Array.from(
      { length: 8 },
      (_, i) => `${taxpayer.phone.slice(0, 3)}${String(9000 + i)}${taxpayer.phone.slice(7)}`,
    );
    const page = await user.open('/h5/bind');
    const csrf = user.csrfToken(page.text);
    const answers: number[] = [];
    for (const [i, phone] of guesses.entries()) {
      const action = i % 2 === 0 ? '/h5/bind/sms' : '/h5/bind/confirm';
      answers.push((await user.post(action, { _csrf: csrf, phone, smsCode: '123456' })).status);
    }
    assert.deepEqual(answers, [400, 400, 400, 429, 401, 401, 401, 401], '3 mismatches, then 登录 again');
    assert.equal(await failures('phone_mismatch'), 3);
    assert.equal(await failures('too_many_attempts'), 1);
    const back = await user.open('/h5/bind');
    assert.match(visibleText(back.text), /登录账号/, 'the 登录 step was cleared');
    assert.doesNotMatch(visibleText(back.text), /获取验证码/);
    // Logging in again within the window: the right phone still works, the next wrong one clears it at once.
    assert.equal((await w.bindLogin(user, taxpayer.idNumber, taxpayer.password)).status, 302);
    const again = user.csrfToken((await user.open('/h5/bind')).text);
    const wrong = await user.post('/h5/bind/sms', { _csrf: again, phone: guesses[0]!, smsCode: '' });
    assert.equal(wrong.status, 429);
    assert.match(visibleText(wrong.text), /手机号码多次与账号预留的手机号码不一致，请 \d+ 分钟后重新登录并绑定/);
    assert.ok(Number(wrong.headers['retry-after']) > 0);
    assert.equal((await w.bindLogin(user, taxpayer.idNumber, taxpayer.password)).status, 302);
    assert.equal((await w.requestBindSms(user, taxpayer.phone)).status, 302, 'the right phone is never counted');
    // Another WeChat user has its own count.
    const other = w.newUser();
    assert.equal((await w.bindLogin(other, taxpayer.idNumber, taxpayer.password)).status, 302);
    const otherCsrf = other.csrfToken((await other.open('/h5/bind')).text);
    assert.equal((await other.post('/h5/bind/sms', { _csrf: otherCsrf, phone: guesses[1]!, smsCode: '' })).status, 400);
  });

  it('V6.6.3: gives an SMS code at most 5 guesses and a phone at most 5 codes an hour: 25 guesses of 10^6 (also SmsCodeService.test.ts, registerFlow "voids the code after 5 wrong tries")', async () => {
    const taxpayer = await w.quickAccount();
    const user = w.newUser();
    const { csrf, code } = await w.bindUpToConfirm(user, taxpayer);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const res = await user.post('/h5/bind/confirm', { _csrf: csrf, phone: taxpayer.phone, smsCode: wrong });
      assert.match(visibleText(res.text), /短信验证码错误/);
    }
    const right = await user.post('/h5/bind/confirm', { _csrf: csrf, phone: taxpayer.phone, smsCode: code });
    assert.equal(right.status, 400, 'the 6th try is refused even when right');
    assert.match(visibleText(right.text), /短信验证码已失效/);
    assert.equal(await w.bindings().count(), 0);
    assert.equal(await failures('sms_wrong'), 5);
    // Codes: 6 digits from a CSPRNG (20 bits, V6.5.4), one per 60 s, five an hour.
    const sends = [];
    for (let i = 0; i < 5; i++) {
      w.clock.advance(61_000);
      const captchaPage = await user.open('/h5/bind/sms');
      sends.push(
        (
          await user.post('/h5/bind/sms/send', {
            _csrf: user.csrfToken(captchaPage.text),
            captcha: await user.captcha('bind-sms'),
          })
        ).status,
      );
    }
    assert.deepEqual(sends, [302, 302, 302, 302, 429], 'the 6th code within the hour is refused (1 + 4 sent)');
    assert.match(w.smsCodeFor(taxpayer.phone)!, /^\d{6}$/);
  });

  it('V6.3.8: answers an unknown account and a wrong password on the bind form alike: status, page and time, before and after the failures that make a WeChat user wait (also bindFlow "same message", loginThrottle.test)', async () => {
    const taxpayer = await w.quickAccount();
    const unknownId = '350102199001011234';
    // What legitimately differs between two answers: the echoed 登录账号, the CSRF token, the captcha URL.
    const normalise = (html: string, loginName: string) =>
      html.replaceAll(loginName, 'LOGIN').replace(/name="_csrf" value="[^"]+"/g, '');
    const times = { unknown: [] as number[], wrong: [] as number[] };
    const pages = new Map<string, Set<string>>([
      ['unknown', new Set()],
      ['wrong', new Set()],
    ]);
    // One WeChat user per kind, seven tries each: five failures, then two tries that must wait.
    const clients = { unknown: w.newUser(), wrong: w.newUser() };
    const statuses = { unknown: [] as number[], wrong: [] as number[] };
    for (let round = 0; round < 7; round++) {
      for (const kind of ['unknown', 'wrong'] as const) {
        const client = clients[kind];
        const page = await client.open('/h5/bind');
        const captcha = await client.captcha('bind-login');
        const loginName = kind === 'unknown' ? unknownId : taxpayer.idNumber;
        const started = process.hrtime.bigint();
        const res = await client.post('/h5/bind/login', {
          _csrf: client.csrfToken(page.text),
          loginName,
          password: `guess-${round}`,
          captcha,
        });
        if (res.status === 401) times[kind].push(Number(process.hrtime.bigint() - started) / 1e6);
        statuses[kind].push(res.status);
        pages.get(kind)!.add(`${res.headers['retry-after'] ?? ''} ${normalise(res.text, loginName)}`);
      }
    }
    assert.deepEqual(statuses.unknown, [401, 401, 401, 401, 401, 429, 429]);
    assert.deepEqual(statuses.wrong, statuses.unknown);
    assert.deepEqual([...pages.get('unknown')!], [...pages.get('wrong')!], 'the same page');
    // An unknown account costs a (dummy) argon2id verification too: the times are of one kind.
    const [unknown, wrong] = [median(times.unknown), median(times.wrong)];
    assert.ok(
      unknown > wrong / 3 && unknown < wrong * 3,
      `similar times: unknown ${unknown.toFixed(1)} ms, wrong password ${wrong.toFixed(1)} ms`,
    );
    const reasons = (await w.audit('authenticate_failed')).map((e) => (e.detail as { reason: string }).reason).sort();
    assert.deepEqual(
      reasons,
      [...Array(5).fill('unknown_account'), ...Array(5).fill('wrong_password')],
      'the audit log tells them apart; the user cannot',
    );
  });

  it('V16.3.1: logs every authentication operation with its outcome, who (masked) and where, and records it in audit_events', async () => {
    const taxpayer = await w.quickAccount();
    const api = () => request(w.t.app.callback());
    // Passwords: the API and the H5 form, success, failure, a wait.
    await api()
      .post('/api/accounts/authenticate')
      .set('Authorization', API_KEY)
      .send({ loginName: taxpayer.idNumber, password: taxpayer.password });
    await api()
      .post('/api/accounts/authenticate')
      .set('Authorization', API_KEY)
      .send({ loginName: 'nobody', password: 'x' });
    const user = w.newUser();
    await loginAttempt(user, taxpayer.idNumber, 'wrong', 'ZZZZ');
    for (let i = 0; i < 6; i++) await loginAttempt(user, taxpayer.idNumber, `wrong-${i}`);
    // The portal key, OAuth, the SMS code, the QR login.
    await api().post('/api/login/tickets').set('Authorization', 'Bearer not-a-key').send({});
    await api().get('/h5/oauth/callback?code=abc&state=def');
    const binder = w.newUser();
    const other = await w.quickAccount();
    const { csrf } = await w.bindUpToConfirm(binder, other);
    await binder.post('/h5/bind/confirm', {
      _csrf: csrf,
      phone: other.phone,
      smsCode: '000000' === w.smsCodeFor(other.phone) ? '111111' : '000000',
    });
    const phone = w.newUser();
    const owner = await w.quickAccount();
    const scanned = await w.scannedTicket(phone, owner);
    await phone.post('/h5/login/confirm', { _csrf: scanned.csrf, c: scanned.token });
    await w.redeem(scanned.ticket.ticketId);
    const cancelled = await w.scannedTicket(phone, owner);
    await phone.post('/h5/login/cancel', { _csrf: cancelled.csrf, c: cancelled.token });

    const expected: [string, Record<string, unknown>][] = [
      ['authenticate_succeeded', { accountId: taxpayer.account.id }],
      ['authenticate_failed', { accountId: taxpayer.account.id }],
      ['authenticate_failed', { accountId: null }],
      ['bind_failed', {}],
      ['login_scanned', { accountId: owner.account.id }],
      ['login_confirmed', { accountId: owner.account.id }],
      ['login_redeemed', { accountId: owner.account.id }],
      ['login_cancelled', { accountId: owner.account.id }],
    ];
    for (const [type, fields] of expected) {
      const lines = logs.audits(type);
      assert.ok(
        lines.some((line) => Object.entries(fields).every(([k, v]) => line[k] === v)),
        `${type} logged with ${JSON.stringify(fields)}`,
      );
      for (const line of lines) {
        if (line.openid !== null) assert.match(line.openid as string, /^.{6}\*\*\*\*.{4}$/, `${type}: openid masked`);
      }
      assert.ok((await w.audit(type as Parameters<typeof w.audit>[0])).length >= 1, `${type} in audit_events`);
    }
    const failedReasons = logs.audits('bind_failed').map((a) => (a.detail as { reason: string }).reason);
    for (const reason of ['captcha_wrong', 'invalid_credentials', 'login_throttled', 'sms_wrong'])
      assert.ok(failedReasons.includes(reason), `bind_failed ${reason}`);
    const withIp = logs.audits('authenticate_failed').filter((a) => a.ip);
    assert.ok(withIp.length > 0, 'where: the client IP');
    const messages = logs.lines.map((l) => l.msg);
    for (const msg of ['oauth: wechat user identified', 'oauth callback refused', 'portal API key refused'])
      assert.ok(messages.includes(msg), msg);
    const identified = logs.lines.find((l) => l.msg === 'oauth: wechat user identified')!;
    assert.match(String(identified.openid), /\*\*\*\*/);
  });
});
