import assert from 'node:assert/strict';
import request from 'supertest';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { ManualClock } from '../../src/clock/Clock';
import { SmsDeliveryError } from '../../src/sms/SmsDeliveryError';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { H5Client, visibleText } from '../support/H5Client';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';
import { withStub } from '../support/withStub';

const env = testEnvironment();

describe('binding: 实名绑定 at /h5/bind', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  const wechat = useSimulatedWeChat(clock);
  const { sim } = wechat;
  let t: TestApp;
  let taxpayer: TestAccount;
  let user: H5Client;

  before(async () => {
    t = await createTestApp({
      clock,
      env: wechat.env(),
    });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    clock.advance(3600_000);
    taxpayer = await createTestAccount(t.deps);
    const wechatUser = sim.createUser('纳税人');
    user = new H5Client(t.app, wechat.url, wechatUser.openid);
  });

  const bindings = () => t.deps.db.getRepository(WechatBindingEntity);
  const smsCodeFor = (phone: string) => t.deps.smsOutbox!.forPhone(phone).at(-1)?.code;

  async function login(client: H5Client, loginName: string, password: string) {
    const page = await client.open('/h5/bind');
    const captcha = await client.captcha('bind-login');
    return client.post('/h5/bind/login', { _csrf: client.csrfToken(page.text), loginName, password, captcha });
  }

  async function requestSms(client: H5Client, phone: string) {
    const sms = await client.submit('/h5/bind', '/h5/bind/sms', { phone, smsCode: '' });
    assert.equal(sms.status, 302);
    const captchaPage = await client.open('/h5/bind/sms');
    const captcha = await client.captcha('bind-sms');
    return client.post('/h5/bind/sms/send', { _csrf: client.csrfToken(captchaPage.text), captcha });
  }

  async function bindFully(client: H5Client, account: TestAccount) {
    assert.equal((await login(client, account.idNumber, account.password)).status, 302);
    assert.equal((await requestSms(client, account.phone)).status, 302);
    return client.submit('/h5/bind', '/h5/bind/confirm', { phone: account.phone, smsCode: smsCodeFor(account.phone)! });
  }

  it('walks the seed: 登录账号 + 登录密码 + 验证码 → 登录; 手机号码 + 短信验证码 → 确定绑定; 绑定成功', async () => {
    const first = await user.open('/h5/bind');
    assert.equal(first.status, 200);
    const step1 = visibleText(first.text);
    for (const label of ['登录账号', '登录密码', '验证码', '登录']) assert.ok(step1.includes(label), label);
    for (const id of ['loginName', 'password', 'captcha'])
      assert.match(first.text, new RegExp(`<label class="weui-label" for="${id}">`));

    const loggedIn = await login(user, taxpayer.idNumber, taxpayer.password);
    assert.equal(loggedIn.status, 302);
    const step2 = await user.open('/h5/bind');
    for (const label of ['手机号码', '短信验证码', '获取验证码', '确定绑定'])
      assert.ok(visibleText(step2.text).includes(label), label);

    const sent = await requestSms(user, taxpayer.phone);
    assert.equal(sent.headers.location, '/h5/bind?sent=1');
    const notice = await user.open('/h5/bind?sent=1');
    assert.match(visibleText(notice.text), /验证码已发送至 138\*\*\*\*\d{4}/);
    const code = smsCodeFor(taxpayer.phone)!;
    assert.match(code, /^\d{6}$/);

    const confirmed = await user.post('/h5/bind/confirm', {
      _csrf: user.csrfToken(notice.text),
      phone: taxpayer.phone,
      smsCode: code,
    });
    assert.equal(confirmed.status, 302);
    assert.equal(confirmed.headers.location, '/h5/bind/done');
    const done = await user.open('/h5/bind/done');
    assert.match(visibleText(done.text), /绑定成功/);

    const binding = await bindings().findOneByOrFail({ openid: user.openid });
    assert.equal(binding.accountId, taxpayer.account.id);
    const audit = await t.deps.db.getRepository(AuditEventEntity).findBy({ type: 'bind' });
    assert.equal(audit.length, 1);
    await waitFor(() =>
      sim.outbox.some((m) => m.touser === user.openid && JSON.stringify(m.body).includes('绑定成功')),
    );

    const again = await user.open('/h5/bind');
    assert.match(visibleText(again.text), /您的微信已绑定/);
    assert.doesNotMatch(again.text, new RegExp(taxpayer.phone));
    assert.doesNotMatch(again.text, new RegExp(taxpayer.idNumber));
  });

  it('accepts the ID number or the phone as 登录账号', async () => {
    for (const name of [taxpayer.idNumber, taxpayer.phone]) {
      const client = new H5Client(t.app, wechat.url, sim.createUser('x').openid);
      assert.equal((await login(client, name, taxpayer.password)).status, 302, name);
    }
  });

  it('refuses a wrong password and an unknown account with the same message, binding nothing', async () => {
    const wrong = await login(user, taxpayer.idNumber, 'not-the-password');
    const unknown = await login(user, '350102199001011234', 'whatever');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    for (const res of [wrong, unknown]) assert.match(visibleText(res.text), /登录账号或登录密码错误/);
    assert.equal(await bindings().count(), 0);
    const failures = await t.deps.db.getRepository(AuditEventEntity).findBy({ type: 'bind_failed' });
    assert.ok(failures.some((f) => (f.detail as { reason?: string }).reason === 'invalid_credentials'));
  });

  it('refuses a wrong captcha without trying the password, and a captcha used once cannot be reused', async () => {
    const page = await user.open('/h5/bind');
    const answer = await user.captcha('bind-login');
    const wrong = await user.post('/h5/bind/login', {
      _csrf: user.csrfToken(page.text),
      loginName: taxpayer.idNumber,
      password: taxpayer.password,
      captcha: `${answer}x`,
    });
    assert.equal(wrong.status, 400);
    assert.match(visibleText(wrong.text), /验证码错误/);
    const reused = await user.post('/h5/bind/login', {
      _csrf: user.csrfToken(page.text),
      loginName: taxpayer.idNumber,
      password: taxpayer.password,
      captcha: answer,
    });
    assert.equal(reused.status, 400);
    assert.match(visibleText(reused.text), /验证码错误/);
    assert.equal(
      await t.deps.db.getRepository(AuditEventEntity).countBy({ type: 'authenticate_failed' }),
      0,
      'no password was checked',
    );
  });

  it('makes a WeChat user that failed 5 times wait (429, Retry-After), without locking the account for anyone else', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await login(user, taxpayer.idNumber, `wrong-${i}`)).status, 401);
    const waiting = await login(user, taxpayer.idNumber, taxpayer.password);
    assert.equal(waiting.status, 429);
    assert.match(visibleText(waiting.text), /尝试次数过多，请 1 分钟后再试/);
    assert.equal(waiting.headers['retry-after'], '15');
    const api = await request(t.app.callback())
      .post('/api/accounts/authenticate')
      .set('Authorization', `Bearer ${env.PORTAL_API_KEYS}`)
      .send({ loginName: taxpayer.idNumber, password: taxpayer.password });
    assert.equal(api.status, 200, 'the owner logs in from another client at once');
    clock.advance(15_000);
    assert.equal((await login(user, taxpayer.idNumber, taxpayer.password)).status, 302, 'after the wait');
  });

  it("refuses a phone that is not the account's, sending no SMS", async () => {
    await login(user, taxpayer.idNumber, taxpayer.password);
    const res = await user.submit('/h5/bind', '/h5/bind/sms', { phone: '13900000000', smsCode: '' });
    assert.equal(res.status, 400);
    assert.match(visibleText(res.text), /手机号码与账号预留的手机号码不一致/);
    assert.equal(t.deps.smsOutbox!.forPhone('13900000000').length, 0);
    const confirm = await user.submit('/h5/bind', '/h5/bind/confirm', { phone: '13900000000', smsCode: '123456' });
    assert.equal(confirm.status, 400);
    assert.equal(await bindings().count(), 0);
  });

  it('accepts the phone spelled as 实名注册 accepts it (+86, spaces, hyphens) and binds with it', async () => {
    await login(user, taxpayer.idNumber, taxpayer.password);
    const spelled = `+86 ${taxpayer.phone.slice(0, 3)} ${taxpayer.phone.slice(3, 7)}-${taxpayer.phone.slice(7)}`;
    assert.equal((await requestSms(user, spelled)).status, 302);
    const confirm = await user.submit('/h5/bind', '/h5/bind/confirm', {
      phone: spelled,
      smsCode: smsCodeFor(taxpayer.phone)!,
    });
    assert.equal(confirm.status, 302);
    assert.equal(await bindings().count(), 1);
  });

  it('refuses a wrong SMS code and an expired one, binding nothing', async () => {
    await login(user, taxpayer.idNumber, taxpayer.password);
    await requestSms(user, taxpayer.phone);
    const code = smsCodeFor(taxpayer.phone)!;
    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = await user.submit('/h5/bind', '/h5/bind/confirm', { phone: taxpayer.phone, smsCode: wrongCode });
    assert.equal(wrong.status, 400);
    assert.match(visibleText(wrong.text), /短信验证码错误/);
    clock.advance(5 * 60_000 + 1000);
    const expired = await user.submit('/h5/bind', '/h5/bind/confirm', { phone: taxpayer.phone, smsCode: code });
    assert.equal(expired.status, 400);
    assert.match(visibleText(expired.text), /短信验证码已失效/);
    assert.equal(await bindings().count(), 0);
  });

  it('refuses a second SMS within 60 seconds and says when to retry', async () => {
    await login(user, taxpayer.idNumber, taxpayer.password);
    assert.equal((await requestSms(user, taxpayer.phone)).status, 302);
    const again = await requestSms(user, taxpayer.phone);
    assert.equal(again.status, 429);
    assert.match(visibleText(again.text), /秒后再重新获取/);
    assert.equal(t.deps.smsOutbox!.forPhone(taxpayer.phone).length, 1);
  });

  it('audits an SMS quota refusal as 实名注册 does', async () => {
    await login(user, taxpayer.idNumber, taxpayer.password);
    await requestSms(user, taxpayer.phone);
    assert.equal((await requestSms(user, taxpayer.phone)).status, 429);
    const failures = await t.deps.db.getRepository(AuditEventEntity).findBy({ type: 'bind_failed' });
    assert.deepEqual(
      failures.map((event) => event.detail),
      [{ reason: 'sms_resend_too_soon' }],
    );
  });

  it('shows the same message as 实名注册 when the SMS provider fails, and binds nothing', async () => {
    await login(user, taxpayer.idNumber, taxpayer.password);
    await withStub(
      t.deps.smsSender,
      'send',
      () => Promise.reject(new SmsDeliveryError('LimitExceeded', 'provider refused')),
      async () => {
        const res = await requestSms(user, taxpayer.phone);
        assert.equal(res.status, 502);
        assert.match(visibleText(res.text), /短信发送失败，请稍后重新获取。/);
      },
    );
    assert.equal(await bindings().count(), 0);
  });

  it('asks for an image captcha before each SMS and refuses a wrong one', async () => {
    await login(user, taxpayer.idNumber, taxpayer.password);
    await user.submit('/h5/bind', '/h5/bind/sms', { phone: taxpayer.phone, smsCode: '' });
    const page = await user.open('/h5/bind/sms');
    await user.captcha('bind-sms');
    const res = await user.post('/h5/bind/sms/send', { _csrf: user.csrfToken(page.text), captcha: 'nope' });
    assert.equal(res.status, 400);
    assert.equal(t.deps.smsOutbox!.forPhone(taxpayer.phone).length, 0);
  });

  it('shows a bound WeChat its account (masked) instead of the form', async () => {
    await bindFully(user, taxpayer);
    const page = await user.open('/h5/bind');
    const text = visibleText(page.text);
    assert.match(text, /您的微信已绑定/);
    assert.match(text, /138\*\*\*\*\d{4}/);
    assert.doesNotMatch(page.text, /name="loginName"/);
  });

  it('refuses a further WeChat on an account already holding MAX_BINDINGS_PER_ACCOUNT, saying to unbind on the portal', async () => {
    await bindFully(user, taxpayer);
    const second = new H5Client(t.app, wechat.url, sim.createUser('另一个微信').openid);
    clock.advance(61_000);
    const res = await bindFully(second, taxpayer);
    assert.equal(res.status, 409);
    assert.match(visibleText(res.text), /微信解绑/);
    assert.equal(await bindings().countBy({ accountId: taxpayer.account.id }), 1);
  });

  it('refuses a POST without the CSRF token and changes nothing', async () => {
    await user.open('/h5/bind');
    const captcha = await user.captcha('bind-login');
    const res = await user.post('/h5/bind/login', {
      loginName: taxpayer.idNumber,
      password: taxpayer.password,
      captcha,
    });
    assert.equal(res.status, 403);
    const after = await user.open('/h5/bind');
    assert.match(after.text, /name="loginName"/);
  });

  it('refuses a cross-site POST even with a token', async () => {
    const page = await user.open('/h5/bind');
    const res = await user.agent
      .post('/h5/bind/login')
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ _csrf: user.csrfToken(page.text), loginName: 'x', password: 'y', captcha: 'z' });
    assert.equal(res.status, 403);
  });

  it('changes nothing through GET', async () => {
    const res = await user.open('/h5/bind/confirm');
    assert.notEqual(res.status, 200);
    assert.equal(await bindings().count(), 0);
  });

  it('renews the session id after the login step and forgets the old one', async () => {
    const page = await user.open('/h5/bind');
    const oldCookie = user.sessionCookie();
    const captcha = await user.captcha('bind-login');
    const res = await user.post('/h5/bind/login', {
      _csrf: user.csrfToken(page.text),
      loginName: taxpayer.idNumber,
      password: taxpayer.password,
      captcha,
    });
    assert.equal(res.status, 302);
    assert.match(String(res.headers['set-cookie']), /etax_h5=[A-Za-z0-9_-]{43}; path=\/; samesite=lax; httponly/i);
    assert.notEqual(user.sessionCookie(), oldCookie);
    const withOld = await request(t.app.callback()).get('/h5/bind').set('Cookie', oldCookie!);
    assert.equal(withOld.status, 302, 'the old session id no longer opens the page');
  });

  describe('WeChat OAuth', () => {
    it('sends a page without a session to WeChat with a state tied to the session, snsapi_base', async () => {
      const res = await user.agent.get('/h5/bind');
      assert.equal(res.status, 302);
      const url = new URL(res.headers.location!);
      assert.equal(url.origin, wechat.url);
      assert.equal(url.pathname, '/connect/oauth2/authorize');
      assert.equal(url.searchParams.get('scope'), 'snsapi_base');
      assert.equal(url.searchParams.get('redirect_uri'), `${env.PUBLIC_URL}/h5/oauth/callback`);
      assert.match(url.searchParams.get('state')!, /^[a-f0-9]{32}$/);
      assert.equal(url.hash, '#wechat_redirect');
    });

    it('ends a callback opened twice with the same code on the right page', async () => {
      const start = await user.agent.get('/h5/bind');
      const authorize = await request(wechat.url)
        .get(start.headers.location!.slice(wechat.url.length))
        .set('X-Sim-Openid', user.openid);
      const callback = new URL(authorize.headers.location!);
      const path = callback.pathname + callback.search;
      const cookie = String(start.headers['set-cookie']).split(';')[0]!;
      // Both deliveries carry the cookie of the session that started OAuth, as WeChat's browser would.
      const [a, b] = await Promise.all([
        request(t.app.callback())
          .get(path)
          .set('Cookie', cookie)
          .then((r) => r),
        request(t.app.callback())
          .get(path)
          .set('Cookie', cookie)
          .then((r) => r),
      ]);
      for (const res of [a, b]) {
        assert.equal(res.status, 302);
        assert.equal(res.headers.location, '/h5/bind');
      }
      const sessionCookie = (res: request.Response) => String(res.headers['set-cookie']).split(';')[0];
      assert.equal(sessionCookie(a), sessionCookie(b));
      const page = await request(t.app.callback()).get('/h5/bind').set('Cookie', sessionCookie(a)!);
      assert.equal(page.status, 200);
      assert.match(page.text, /name="loginName"/);
    });

    it("refuses a callback whose state is not the session's", async () => {
      await user.agent.get('/h5/bind');
      const res = await user.agent.get('/h5/oauth/callback?code=abc&state=0123456789abcdef');
      assert.equal(res.status, 400);
      assert.match(visibleText(res.text), /请从"福建税务"公众号菜单重新进入|重新进入/);
    });

    it('shows a friendly page for a POST after the session expired', async () => {
      const page = await user.open('/h5/bind');
      clock.advance(31 * 60_000);
      const res = await user.post('/h5/bind/login', {
        _csrf: user.csrfToken(page.text),
        loginName: 'a',
        password: 'b',
        captcha: 'c',
      });
      assert.ok(res.status === 401 || res.status === 403);
      assert.match(visibleText(res.text), /页面已过期/);
    });
  });

  describe('behind HTTPS', () => {
    let secure: TestApp;
    before(async () => {
      secure = await createTestApp({
        clock,
        env: { PUBLIC_URL: 'https://wx.etax.example', WECHAT_API_BASE: wechat.url, WECHAT_OPEN_BASE: wechat.url },
      });
    });
    after(() => secure.close());

    it('marks the session cookie (and the OAuth state cookie before it) Secure with the __Host- prefix', async () => {
      const start = await request(secure.app.callback())
        .get('/h5/bind')
        .set('User-Agent', 'MicroMessenger/8.0')
        .set('X-Forwarded-Proto', 'https');
      const stateCookie = String(start.headers['set-cookie']);
      assert.match(
        stateCookie,
        /^__Host-etax_h5_oauth=[A-Za-z0-9_.-]+; path=\/; expires=[^;]+; samesite=lax; secure; httponly/i,
      );
      const authorize = await request(wechat.url)
        .get(start.headers.location!.slice(wechat.url.length))
        .set('X-Sim-Openid', user.openid);
      const back = new URL(authorize.headers.location!);
      const res = await request(secure.app.callback())
        .get(back.pathname + back.search)
        .set('User-Agent', 'MicroMessenger/8.0')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', stateCookie.split(';')[0]!);
      assert.equal(res.status, 302);
      const cookie = ([] as string[]).concat(res.headers['set-cookie'] as unknown as string[]).join('\n');
      assert.match(cookie, /^__Host-etax_h5=[A-Za-z0-9_-]{43}; path=\/; samesite=lax; secure; httponly/im);
      assert.doesNotMatch(cookie, /domain=/i);
    });
  });

  describe('production mode (SANDBOX=0)', () => {
    let production: TestApp;
    before(async () => {
      production = await createTestApp({
        env: { SANDBOX: '0', WECHAT_API_BASE: wechat.url, WECHAT_OPEN_BASE: wechat.url },
      });
    });
    after(() => production.close());

    it('never reveals the captcha answer when SANDBOX is off', async () => {
      const client = new H5Client(production.app, wechat.url, sim.createUser('x').openid);
      assert.equal((await client.open('/h5/bind')).status, 200);
      const res = await client.agent.get('/h5/captcha?for=bind-login').set('User-Agent', 'MicroMessenger/8.0');
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-sandbox-captcha'], undefined);
    });

    it('asks to open the page in WeChat instead of starting OAuth', async () => {
      const res = await request(production.app.callback())
        .get('/h5/bind')
        .set('User-Agent', 'Mozilla/5.0 (Windows NT 10.0) Chrome/130');
      assert.equal(res.status, 403);
      assert.match(visibleText(res.text), /请在微信中打开/);
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
