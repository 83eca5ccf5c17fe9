import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { createTestAccount, uniqueIdNumber, uniquePhone, type TestAccount } from '../support/accountFixtures';
import { H5Client, visibleText } from '../support/H5Client';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';

const NEW_PASSWORD = 'Xin-mima-2026';

/** The production stack, and the embedded one `npm run demo` runs on. */
const STACKS: { title: string; env(dataDir: string): Record<string, string> }[] = [
  { title: 'MariaDB + Redis', env: () => ({}) },
  {
    title: 'SQLite + in-memory stores',
    env: (dataDir) => ({ DATABASE_URL: `sqlite:${path.join(dataDir, 'forgot.sqlite')}`, REDIS_URL: 'memory' }),
  },
];

for (const stack of STACKS)
  describe(`password: 忘记密码 at /h5/password/forgot (${stack.title})`, () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
    const wechat = useSimulatedWeChat(clock);
    const { sim } = wechat;
    let t: TestApp;
    let taxpayer: TestAccount;
    let dataDir: string;

    before(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'etax-forgot-'));
      t = await createTestApp({ clock, env: { ...wechat.env(), ...stack.env(dataDir) } });
    });
    after(async () => {
      await t.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await resetState(t.deps);
      clock.advance(3600_000);
      taxpayer = await createTestAccount(t.deps);
    });

    const newUser = () => new H5Client(t.app, wechat.url, sim.createUser('纳税人').openid);
    const codesFor = async (phone: string) => {
      await t.deps.passwords.idle();
      return t.deps.smsOutbox!.forPhone(phone).map((sms) => sms.code);
    };
    const audit = (type: string) =>
      t.deps.db.getRepository(AuditEventEntity).find({ where: { type: type as never }, order: { id: 'ASC' } });

    async function startReset(
      client: H5Client,
      realName: string,
      idNumber: string,
      extra: Record<string, string> = {},
    ) {
      const page = await client.open('/h5/password/forgot');
      const captcha = await client.captcha('password-forgot');
      return client.post('/h5/password/forgot', {
        _csrf: client.csrfToken(page.text),
        realName,
        idNumber,
        captcha,
        ...extra,
      });
    }
    const submitCode = (client: H5Client, smsCode: string) =>
      client.submit('/h5/password/forgot', '/h5/password/forgot/code', { smsCode });
    const submitPassword = (client: H5Client, password: string, confirmPassword = password) =>
      client.submit('/h5/password/forgot', '/h5/password/forgot/password', { password, confirmPassword });

    async function bindLogin(client: H5Client, loginName: string, password: string) {
      const page = await client.open('/h5/bind');
      const captcha = await client.captcha('bind-login');
      return client.post('/h5/bind/login', { _csrf: client.csrfToken(page.text), loginName, password, captcha });
    }

    it('resets through a code sent to the registered number: the old password fails, the new one works, sessions of the account end, failures are cleared, audited, bound WeChats told', async () => {
      // A bound WeChat (to be told) and an H5 session that passed 实名绑定's 登录 step with the old password.
      const bound = sim.createUser('已绑定');
      await t.deps.db.getRepository(WechatBindingEntity).insert({
        id: '00000000-0000-4000-8000-000000000001',
        openid: bound.openid,
        accountId: taxpayer.account.id,
        nickname: null,
        subscribed: true,
        boundAt: new Date(clock.now()),
      });
      const other = newUser();
      assert.equal((await bindLogin(other, taxpayer.idNumber, taxpayer.password)).status, 302);
      assert.match(visibleText((await other.open('/h5/bind')).text), /手机号码/);
      // Two wrong passwords on record.
      for (let i = 0; i < 2; i++)
        await t.deps.accounts.authenticate(taxpayer.idNumber, 'wrong-Password-1', { ip: '10.0.0.1', userAgent: 't' });

      const user = newUser();
      const bindPage = await user.open('/h5/bind');
      assert.match(bindPage.text, /href="\/h5\/password\/forgot"/, '实名绑定 links to 忘记密码');
      const first = await user.open('/h5/password/forgot');
      assert.ok(visibleText(first.text).includes('手机号码已变更？请携带身份证件到办税服务厅办理，或拨打 12366'));
      const started = await startReset(user, taxpayer.account.realName, taxpayer.idNumber);
      assert.equal(started.status, 302);
      const codePage = visibleText((await user.open('/h5/password/forgot')).text);
      assert.ok(
        codePage.includes(`验证码已发送至其预留手机号码 ${taxpayer.phone.slice(0, 3)}****${taxpayer.phone.slice(-4)}`),
        codePage,
      );
      const [code] = await codesFor(taxpayer.phone);
      assert.ok(code);
      assert.equal((await submitCode(user, code)).status, 302);
      const weak = await submitPassword(user, 'short');
      assert.equal(weak.status, 400);
      assert.ok(visibleText(weak.text).includes('登录密码至少8位'));
      const withId = await submitPassword(user, `Ab-${taxpayer.idNumber}`);
      assert.ok(
        visibleText(withId.text).includes('登录密码不能包含身份证号码'),
        'the registration policy with the account numbers',
      );
      const mismatch = await submitPassword(user, NEW_PASSWORD, `${NEW_PASSWORD}x`);
      assert.ok(visibleText(mismatch.text).includes('两次输入的新密码不一致'));
      const done = await submitPassword(user, NEW_PASSWORD);
      assert.equal(done.status, 302);
      assert.equal(done.headers.location, '/h5/password/forgot/done');
      assert.ok(visibleText((await user.open('/h5/password/forgot/done')).text).includes('密码已重置'));

      const context = { ip: '10.0.0.2', userAgent: 't' };
      assert.equal((await t.deps.accounts.authenticate(taxpayer.idNumber, taxpayer.password, context)).ok, false);
      assert.equal((await t.deps.accounts.authenticate(taxpayer.idNumber, NEW_PASSWORD, context)).ok, true);
      // The other session is gone: its next page starts 实名绑定 over (a new OAuth round, step 1).
      const after = visibleText((await other.open('/h5/bind')).text);
      assert.ok(after.includes('登录密码') && !after.includes('获取验证码'), after);
      const rows = await audit('password_reset');
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.accountId, taxpayer.account.id);
      assert.deepEqual((rows[0]!.detail as { sessionsEnded: unknown }).sessionsEnded, { h5: 1, portal: 0 });
      const notice = sim.outbox.find((m) => m.touser === bound.openid && JSON.stringify(m.body).includes('重置'));
      assert.ok(notice, 'the bound WeChat is told');
      assert.match(JSON.stringify(notice.body), /如非本人操作/);
    });

    it('clears a lock: the owner who proved the phone logs in at once with the new password', async () => {
      for (let i = 0; i < 5; i++)
        await t.deps.accounts.authenticate(taxpayer.idNumber, 'wrong-Password-1', { ip: '10.0.0.1', userAgent: 't' });
      const locked = await t.deps.accounts.authenticate(taxpayer.idNumber, taxpayer.password, {
        ip: '10.0.0.1',
        userAgent: 't',
      });
      assert.equal(locked.ok, false);
      const user = newUser();
      await startReset(user, taxpayer.account.realName, taxpayer.idNumber);
      await submitCode(user, (await codesFor(taxpayer.phone))[0]!);
      assert.equal((await submitPassword(user, NEW_PASSWORD)).status, 302);
      const login = await t.deps.accounts.authenticate(taxpayer.idNumber, NEW_PASSWORD, {
        ip: '10.0.0.1',
        userAgent: 't',
      });
      assert.equal(login.ok, true);
    });

    it('V6.4.1 answers alike whether or not the name and ID number have an account (no enumeration); only a match shows the masked number', async () => {
      const answers: string[] = [];
      const cases: [string, string][] = [
        ['李四', uniqueIdNumber()], // no account with this ID number
        ['李四', taxpayer.idNumber], // the ID number's account, another name
      ];
      for (const [name, id] of cases) {
        const user = newUser();
        const started = await startReset(user, name, id);
        assert.equal(started.status, 302);
        assert.equal(started.headers.location, '/h5/password/forgot');
        const page = await user.open('/h5/password/forgot');
        assert.equal(page.status, 200);
        const wrong = await submitCode(user, '123456');
        assert.equal(wrong.status, 400);
        answers.push(`${visibleText(page.text)} | ${visibleText(wrong.text)}`);
      }
      assert.equal(answers[0], answers[1]);
      assert.ok(
        answers[0]!.includes('如该身份已注册实名账号，验证码已发送至其预留手机号码，5分钟内有效。'),
        answers[0],
      );
      assert.doesNotMatch(answers[0]!, /\*\*\*\*/);
      // The matching pair: the same wording, with the masked number, and a wrong code answers the same.
      const owner = newUser();
      await startReset(owner, taxpayer.account.realName, taxpayer.idNumber);
      const wrong = visibleText((await submitCode(owner, '000000')).text);
      const masked = `${taxpayer.phone.slice(0, 3)}****${taxpayer.phone.slice(-4)}`;
      assert.ok(wrong.includes(`预留手机号码 ${masked}，`));
      assert.equal(wrong.replace(` ${masked}`, ''), answers[0]!.split(' | ')[1]);
      assert.equal((await codesFor(taxpayer.phone)).length, 1, 'one code, to the registered number only');
    });

    it("V6.4.1 sends the code only to the registered number: naming one's own phone for someone else's ID gets one nothing", async () => {
      const attackerPhone = uniquePhone();
      const attacker = newUser();
      const started = await startReset(attacker, taxpayer.account.realName, taxpayer.idNumber, {
        phone: attackerPhone,
      });
      assert.equal(started.status, 302);
      assert.deepEqual(await codesFor(attackerPhone), [], "the attacker's phone gets nothing");
      assert.equal((await codesFor(taxpayer.phone)).length, 1, 'the registered number gets the code');
      for (const guess of ['000000', '111111']) assert.equal((await submitCode(attacker, guess)).status, 400);
      const next = await attacker.submit('/h5/password/forgot', '/h5/password/forgot/password', {
        password: NEW_PASSWORD,
        confirmPassword: NEW_PASSWORD,
      });
      assert.equal(next.status, 409, 'no new password before the code');
      assert.equal(
        (await t.deps.accounts.authenticate(taxpayer.idNumber, taxpayer.password, { ip: '1', userAgent: 't' })).ok,
        true,
      );
    });

    it('V6.4.1 stops SMS-code brute force: after 5 wrong codes even the right one is refused', async () => {
      const user = newUser();
      await startReset(user, taxpayer.account.realName, taxpayer.idNumber);
      const [code] = await codesFor(taxpayer.phone);
      const wrong = code === '999999' ? '999998' : '999999';
      for (let i = 0; i < 5; i++) {
        const answer = await submitCode(user, wrong);
        assert.equal(answer.status, 400);
        assert.ok(visibleText(answer.text).includes('短信验证码错误或已失效'));
      }
      const right = await submitCode(user, code!);
      assert.equal(right.status, 400, 'the recovery is void');
      const refused = await user.submit('/h5/password/forgot', '/h5/password/forgot/password', {
        password: NEW_PASSWORD,
        confirmPassword: NEW_PASSWORD,
      });
      assert.notEqual(refused.status, 302);
      assert.equal(
        (await t.deps.accounts.authenticate(taxpayer.idNumber, taxpayer.password, { ip: '1', userAgent: 't' })).ok,
        true,
      );
    });

    it('V6.4.1 limits recoveries per identity, whoever asks (the same answer for an unknown ID number)', async () => {
      for (const idNumber of [taxpayer.idNumber, uniqueIdNumber()]) {
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) statuses.push((await startReset(newUser(), '王五', idNumber)).status);
        assert.deepEqual(statuses, [302, 302, 302, 302, 302, 429]);
      }
    });

    it('spends the image captcha before anything: a wrong one is refused and audited', async () => {
      const user = newUser();
      const page = await user.open('/h5/password/forgot');
      const refused = await user.post('/h5/password/forgot', {
        _csrf: user.csrfToken(page.text),
        realName: taxpayer.account.realName,
        idNumber: taxpayer.idNumber,
        captcha: 'WRONG',
      });
      assert.equal(refused.status, 400);
      assert.ok(visibleText(refused.text).includes('验证码错误'));
      assert.deepEqual(await codesFor(taxpayer.phone), []);
      const rows = await audit('password_reset_failed');
      assert.equal((rows[0]!.detail as { reason: string }).reason, 'captcha_wrong');
    });
  });
