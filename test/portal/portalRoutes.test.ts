import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { describeBrowser } from '../../src/login/describeBrowser';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { visibleText } from '../support/H5Client';
import { createTestApp, resetState, startLiveApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A desktop browser against the live portal: keeps the portal cookie, reads CSRF tokens and captcha answers. */
class PortalBrowser {
  readonly agent: TestAgent;

  constructor(readonly base: string) {
    this.agent = request.agent(base);
  }

  get(path: string) {
    return this.agent.get(path).set('User-Agent', DESKTOP_UA);
  }

  post(path: string, form: Record<string, string>) {
    return this.agent.post(path).set('User-Agent', DESKTOP_UA).type('form').send(form);
  }

  csrf(html: string): string {
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(token, 'page has a CSRF field');
    return token;
  }

  async captcha(): Promise<string> {
    const res = await this.get('/portal/captcha?t=1');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /image\/svg\+xml/);
    return res.headers['x-sandbox-captcha'] as string;
  }

  /**
   * The login page with its QR code, as a browser without script gets it: a first visit (no
   * session yet) shows no QR code but a button that asks for one (a form post), then the page again.
   */
  async loginWithQr(): Promise<request.Response> {
    const page = await this.get('/portal/login');
    if (!page.text.includes('data-state="waiting"')) return page;
    const asked = await this.post('/portal/login/qrcode', { _csrf: this.csrf(page.text) });
    assert.equal(asked.status, 303);
    return this.get(asked.headers.location!);
  }

  async passwordLogin(loginName: string, password: string): Promise<request.Response> {
    const page = await this.get('/portal/login?tab=password');
    const answer = await this.captcha();
    return this.post('/portal/login/password', { _csrf: this.csrf(page.text), loginName, password, captcha: answer });
  }
}

describe('portal: the reference portal at /portal/ (HTTP)', () => {
  let live: TestApp & { url: string };
  let taxpayer: TestAccount;
  const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID! });
  const bindingsRepo = () => live.deps.db.getRepository(WechatBindingEntity);

  before(async () => {
    live = await startLiveApp({ env: { PORTAL_DEMO: '1' } });
  });
  after(async () => {
    await live?.close();
  });
  beforeEach(async () => {
    await resetState(live.deps);
    live.deps.simulator!.reset();
    taxpayer = await createTestAccount(live.deps, { realName: '林纳税' });
  });

  async function bindWechat(nickname: string | null, account = taxpayer) {
    const user = live.deps.simulator!.createUser(nickname ?? '无昵称');
    const id = randomUUID();
    await bindingsRepo().insert({
      id,
      accountId: account.account.id,
      openid: user.openid,
      unionid: null,
      nickname,
      subscribed: true,
      boundAt: new Date(Date.UTC(2025, 10, 30, 2, 15, 0)),
    });
    return { id, openid: user.openid };
  }

  async function scan(openid: string, qrcodeUrl: string): Promise<string> {
    const ticket = new URL(qrcodeUrl).searchParams.get('ticket')!;
    const scene = live.deps.simulator!.qrByTicket(ticket)!.sceneStr!;
    const push = driver.sign(driver.event(openid, 'SCAN', scene));
    const res = await driver.post(`${live.url}/wechat`, push);
    assert.equal(res.status, 200);
    return (await driver.readReply(res.body))?.Content ?? '';
  }

  const qrSrc = (html: string) =>
    /<img id="qr-image" class="qr-image" src="([^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&');

  it('serves a government-portal front page with its own HttpOnly, SameSite=Lax cookie and a strict CSP', async () => {
    const browser = new PortalBrowser(live.url);
    const res = await browser.get('/portal/');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type']!, /text\/html/);
    const text = visibleText(res.text);
    for (const expected of ['国家税务总局福建省税务局', '福建省网上税务局', '微信扫码登录', '实名用户登录', '12366'])
      assert.ok(text.includes(expected), expected);
    const csp = res.headers['content-security-policy'] as string;
    assert.match(csp, /script-src 'self'/);
    assert.ok(!csp.includes('unsafe-inline'));
    assert.ok(!/<script>|\son[a-z]+="/i.test(res.text), 'no inline script or handler');
    assert.ok(!/style="/i.test(res.text), 'no inline style');

    const login = await browser.get('/portal/login');
    const cookie = (login.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('etax_portal='));
    assert.ok(cookie, 'portal cookie set');
    assert.match(cookie, /httponly/i);
    assert.match(cookie, /samesite=lax/i);
    assert.ok(!/etax_h5=/.test(String(login.headers['set-cookie'])), 'not the H5 cookie');

    for (const asset of ['/portal/static/portal.css', '/portal/static/portal.js', '/portal/static/emblem.svg']) {
      assert.equal((await browser.get(asset)).status, 200, asset);
    }
    assert.equal((await browser.get('/portal')).headers.location, '/portal/');
  });

  it("shows the QR from POST /api/login/tickets, created with the browser's IP and User-Agent, and a 刷新状态 link", async () => {
    const browser = new PortalBrowser(live.url);
    const page = await browser.loginWithQr();
    assert.equal(page.status, 200);
    const src = qrSrc(page.text);
    assert.ok(src.startsWith(`${live.url}/sandbox/wechat/cgi-bin/showqrcode?ticket=`), src);
    assert.ok(page.text.includes('请使用微信扫一扫'));
    assert.ok(page.text.includes('刷新状态'));
    assert.match(
      page.headers['content-security-policy'] as string,
      new RegExp(`img-src [^;]*${live.url.replace(/[.:/]/g, '\\$&')}`),
    );
    const ticketId = /data-ticket="([0-9a-f]+)"/.exec(page.text)![1]!;
    // The same QR while it is usable: a reload does not ask WeChat for another one.
    assert.equal(qrSrc((await browser.get('/portal/login')).text), src);
    // The ticket the portal created names the PC's browser (from its User-Agent) for the confirm page.
    const user = await bindWechat('林');
    const reply = await scan(user.openid, src);
    const confirmToken = /c=([0-9a-f]+)/.exec(reply)![1]!;
    const forConfirm = await live.deps.login.ticketForConfirmation(confirmToken);
    assert.equal(forConfirm!.ticket.ticketId, ticketId);
    assert.equal(forConfirm!.ticket.browser, describeBrowser(DESKTOP_UA));
    assert.notEqual(forConfirm!.ticket.browser, '未知浏览器');
    assert.match(forConfirm!.ticket.clientIp, /127\.0\.0\.1/);
  });

  it('logs in by 微信扫码登录 without script: scan, 确定登录, 刷新状态, 进入网上税务局', async () => {
    const user = await bindWechat('林');
    const browser = new PortalBrowser(live.url);
    const page = await browser.loginWithQr();
    const reply = await scan(user.openid, qrSrc(page.text));
    let status = await browser.get('/portal/login?tab=wechat&check=1');
    assert.ok(status.text.includes('已扫码，请在手机上确认'));
    assert.ok(status.text.includes('data-state="scanned"'));

    const confirmToken = /c=([0-9a-f]+)/.exec(reply)![1]!;
    assert.equal(
      (await live.deps.login.confirm(confirmToken, user.openid, { ip: '127.0.0.1', userAgent: 'phone' })).result,
      'done',
    );
    status = await browser.get('/portal/login?tab=wechat&check=1');
    assert.ok(status.text.includes('data-state="confirmed"'));
    const done = await browser.post('/portal/login/wechat', { _csrf: browser.csrf(status.text) });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/portal/');
    const home = await browser.get('/portal/home');
    assert.equal(home.status, 200);
    const text = visibleText(home.text);
    assert.ok(text.includes('林纳税'));
    assert.ok(text.includes(`${taxpayer.idNumber.slice(0, 3)}***********${taxpayer.idNumber.slice(-4)}`));
    assert.ok(text.includes(`${taxpayer.phone.slice(0, 3)}****${taxpayer.phone.slice(-4)}`));
    assert.ok(text.includes('微信扫码登录'));
    assert.ok(!home.text.includes(taxpayer.idNumber) && !home.text.includes(taxpayer.phone));
    // The ticket was redeemed once: a second post has nothing left to redeem.
    const again = await browser.post('/portal/login/wechat', { _csrf: browser.csrf(home.text) });
    assert.equal(again.status, 303);
  });

  it('shows 请先完成实名绑定 for an unbound WeChat, and 点击刷新 after 取消 gives a new QR', async () => {
    const stranger = live.deps.simulator!.createUser('陌生人');
    const browser = new PortalBrowser(live.url);
    const page = await browser.loginWithQr();
    const first = qrSrc(page.text);
    assert.match(await scan(stranger.openid, first), /尚未绑定/);
    let status = await browser.get('/portal/login?check=1');
    assert.ok(visibleText(status.text).includes('请先完成实名绑定'));

    const user = await bindWechat('林');
    const reply = await scan(user.openid, first);
    await live.deps.login.cancel(/c=([0-9a-f]+)/.exec(reply)![1]!, user.openid, {
      ip: '127.0.0.1',
      userAgent: 'phone',
    });
    status = await browser.get('/portal/login?check=1');
    assert.ok(status.text.includes('data-state="expired"'));
    assert.ok(visibleText(status.text).includes('二维码已过期，点击刷新'));
    // A fresh visit of the login page gets a new QR by itself …
    const fresh = await browser.get('/portal/login');
    assert.notEqual(qrSrc(fresh.text), first);
    // … and 点击刷新 answers with the session's QR while it is live (one live ticket per browser):
    // JSON for the page's script, a redirect without it.
    const json = await browser.agent
      .post('/portal/login/qrcode')
      .set('Accept', 'application/json')
      .type('form')
      .send({ _csrf: browser.csrf(fresh.text) });
    assert.equal(json.status, 200);
    assert.equal(json.body.status, 'pending');
    assert.match(json.body.ticketId, /^[0-9a-f]{48}$/);
    assert.equal(json.body.qrcodeUrl, qrSrc(fresh.text));
    const form = await browser.post('/portal/login/qrcode', { _csrf: browser.csrf(fresh.text) });
    assert.equal(form.status, 303);
    assert.equal(form.headers.location, '/portal/login?tab=wechat');
  });

  it('logs in by 实名用户登录 with the image captcha and shows the 401 and 429 answers clearly', async () => {
    const browser = new PortalBrowser(live.url);
    const wrongCaptcha = await (async () => {
      const page = await browser.get('/portal/login?tab=password');
      await browser.captcha();
      return browser.post('/portal/login/password', {
        _csrf: browser.csrf(page.text),
        loginName: taxpayer.idNumber,
        password: taxpayer.password,
        captcha: 'ZZZZ',
      });
    })();
    assert.equal(wrongCaptcha.status, 400);
    assert.ok(visibleText(wrongCaptcha.text).includes('验证码错误或已过期'));

    const wrong = await browser.passwordLogin(taxpayer.idNumber, 'Wrong-pass-1');
    assert.equal(wrong.status, 401);
    assert.ok(visibleText(wrong.text).includes('登录账号或登录密码错误'));
    assert.ok(wrong.text.includes(`value="${taxpayer.idNumber}"`), 'keeps the login name');
    assert.ok(!wrong.text.includes('Wrong-pass-1'), 'never echoes the password');

    for (let i = 0; i < 4; i++) await browser.passwordLogin(taxpayer.idNumber, 'Wrong-pass-1');
    const waiting = await browser.passwordLogin(taxpayer.idNumber, taxpayer.password);
    assert.equal(waiting.status, 429);
    assert.match(visibleText(waiting.text), /登录失败次数过多，请 1 分钟后再试/);
    assert.equal(waiting.headers['retry-after'], '15');

    const other = await createTestAccount(live.deps, { realName: '郑实名' });
    const ok = await browser.passwordLogin(other.phone, other.password);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, '/portal/');
    const front = await browser.get('/portal/');
    assert.ok(visibleText(front.text).includes('个人进入'));
    assert.ok(visibleText(front.text).includes('郑实名'));
    const home = await browser.get('/portal/home');
    assert.ok(visibleText(home.text).includes('实名用户登录'));

    // Audited with the taxpayer's browser (reported by the portal), not with the portal server's.
    const audited = await live.deps.db
      .getRepository(AuditEventEntity)
      .find({ where: [{ accountId: taxpayer.account.id }, { accountId: other.account.id }] });
    assert.ok(audited.length >= 6, `${audited.length} rows`);
    for (const row of audited.filter((r) => r.type.startsWith('authenticate_')))
      assert.equal(row.userAgent, DESKTOP_UA, row.type);
  });

  it("refuses a POST without the session's CSRF token or from another origin", async () => {
    const browser = new PortalBrowser(live.url);
    const page = await browser.get('/portal/login?tab=password');
    const answer = await browser.captcha();
    const form = { loginName: taxpayer.idNumber, password: taxpayer.password, captcha: answer };
    const missing = await browser.post('/portal/login/password', form);
    assert.equal(missing.status, 403);
    assert.ok(visibleText(missing.text).includes('页面已过期'));
    const forged = await browser.post('/portal/login/password', { ...form, _csrf: 'x'.repeat(43) });
    assert.equal(forged.status, 403);
    const crossSite = await browser.agent
      .post('/portal/login/password')
      .set('Origin', 'http://evil.example')
      .type('form')
      .send({ ...form, _csrf: browser.csrf(page.text) });
    assert.equal(crossSite.status, 403);
    // Another browser's token is no good either.
    const stranger = new PortalBrowser(live.url);
    await stranger.get('/portal/login');
    assert.equal((await stranger.post('/portal/logout', { _csrf: browser.csrf(page.text) })).status, 403);
  });

  it('requires login for 个人信息管理, 设置 and 微信解绑, and returns there after logging in', async () => {
    const browser = new PortalBrowser(live.url);
    for (const path of [
      '/portal/home',
      '/portal/settings',
      '/portal/settings/wechat',
      '/portal/settings/wechat/unbind?id=x',
    ]) {
      const res = await browser.get(path);
      assert.equal(res.status, 302, path);
      assert.equal(res.headers.location, '/portal/login', path);
    }
    const page = await browser.get('/portal/settings');
    assert.equal(page.status, 302);
    const loggedIn = await browser.passwordLogin(taxpayer.idNumber, taxpayer.password);
    assert.equal(loggedIn.headers.location, '/portal/settings');
    // A POST without a login is not carried out.
    const anonymous = new PortalBrowser(live.url);
    const login = await anonymous.get('/portal/login');
    const refused = await anonymous.post('/portal/settings/wechat/unbind', {
      _csrf: anonymous.csrf(login.text),
      bindingId: randomUUID(),
    });
    assert.equal(refused.status, 303);
    assert.equal(refused.headers.location, '/portal/login');
  });

  it('lists the bindings (微信用户 for no nickname, masked openid, Shanghai time) and unbinds with 确定, keeping the others', async () => {
    const named = await bindWechat('税务小林');
    const unnamed = await bindWechat(null);
    const browser = new PortalBrowser(live.url);
    await browser.passwordLogin(taxpayer.idNumber, taxpayer.password);
    const list = await browser.get('/portal/settings/wechat');
    assert.equal(list.status, 200);
    const text = visibleText(list.text);
    for (const expected of [
      '税务小林',
      '微信用户',
      `${named.openid.slice(0, 6)}****${named.openid.slice(-4)}`,
      '2025-11-30 10:15:00',
      '解绑',
      '确认解绑该微信绑定关系?',
      '确定',
      '取消',
    ]) {
      assert.ok(text.includes(expected), expected);
    }
    assert.ok(!list.text.includes(named.openid) && !list.text.includes(unnamed.openid), 'openids masked');
    assert.ok(list.text.includes('<dialog id="unbind-dialog"'));

    // Without script, 解绑 is a confirmation page; 取消 is a link back and changes nothing.
    const confirm = await browser.get(`/portal/settings/wechat/unbind?id=${named.id}`);
    assert.equal(confirm.status, 200);
    assert.ok(visibleText(confirm.text).includes('确认解绑该微信绑定关系?'));
    assert.ok(confirm.text.includes('href="/portal/settings/wechat">取消</a>'));
    assert.equal(await bindingsRepo().countBy({ accountId: taxpayer.account.id }), 2);

    const missingToken = await browser.post('/portal/settings/wechat/unbind', { bindingId: named.id });
    assert.equal(missingToken.status, 403);
    assert.equal(await bindingsRepo().countBy({ id: named.id }), 1);

    const done = await browser.post('/portal/settings/wechat/unbind', {
      _csrf: browser.csrf(confirm.text),
      bindingId: named.id,
    });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/portal/settings/wechat');
    assert.equal(await bindingsRepo().countBy({ id: named.id }), 0);
    assert.equal(await bindingsRepo().countBy({ id: unnamed.id }), 1);
    const after = visibleText((await browser.get('/portal/settings/wechat')).text);
    assert.ok(after.includes('解绑成功'));
    assert.ok(!after.includes('税务小林'));
    assert.ok(after.includes('微信用户'));

    // Another account's binding, or one already gone: 404 from the API, a message here, nothing removed.
    const neighbour = await createTestAccount(live.deps, { realName: '邻居' });
    const theirs = await bindWechat('邻居的微信', neighbour);
    const page = await browser.get('/portal/settings/wechat');
    for (const id of [theirs.id, named.id, 'not-a-uuid']) {
      const res = await browser.post('/portal/settings/wechat/unbind', {
        _csrf: browser.csrf(page.text),
        bindingId: id,
      });
      assert.equal(res.status, 303);
      assert.ok(visibleText((await browser.get('/portal/settings/wechat')).text).includes('未找到该微信绑定关系'), id);
    }
    assert.equal(await bindingsRepo().countBy({ id: theirs.id }), 1);
  });

  it('logs out by POST only: the session is gone and the pages ask for login again', async () => {
    const browser = new PortalBrowser(live.url);
    await browser.passwordLogin(taxpayer.idNumber, taxpayer.password);
    const home = await browser.get('/portal/home');
    assert.equal(home.status, 200);
    assert.equal((await browser.get('/portal/logout')).status, 405);
    const out = await browser.post('/portal/logout', { _csrf: browser.csrf(home.text) });
    assert.equal(out.status, 303);
    assert.equal(out.headers.location, '/portal/');
    const front = await browser.get('/portal/');
    assert.ok(visibleText(front.text).includes('您已安全退出'));
    assert.equal((await browser.get('/portal/home')).status, 302);
  });

  it('answers unknown portal paths with a portal 404 page', async () => {
    const res = await new PortalBrowser(live.url).get('/portal/nothing-here');
    assert.equal(res.status, 404);
    assert.ok(visibleText(res.text).includes('页面不存在'));
  });
});

describe('portal: off unless PORTAL_DEMO=1', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { PORTAL_DEMO: '0' } });
  });
  after(async () => {
    await t?.close();
  });

  it('answers 404 for every /portal/ path and sets no portal cookie', async () => {
    for (const path of [
      '/portal/',
      '/portal',
      '/portal/login',
      '/portal/home',
      '/portal/static/portal.css',
      '/portal/captcha',
    ]) {
      const res = await request(t.app.callback()).get(path);
      assert.equal(res.status, 404, path);
      assert.ok(!String(res.headers['set-cookie'] ?? '').includes('etax_portal'), path);
    }
    assert.equal(
      (await request(t.app.callback()).post('/portal/login/password').type('form').send({ loginName: 'a' })).status,
      404,
    );
  });
});

describe('portal: behind HTTPS (PUBLIC_URL https://…)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { PORTAL_DEMO: '1', PUBLIC_URL: 'https://wx.etax.example.gov.cn' } });
  });
  after(async () => {
    await t?.close();
  });

  it('names its cookie __Host-etax_portal, Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
    const res = await request(t.app.callback()).get('/portal/captcha');
    assert.equal(res.status, 200);
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('__Host-etax_portal='));
    assert.ok(cookie, String(res.headers['set-cookie']));
    for (const flag of [/;\s*secure/i, /;\s*httponly/i, /samesite=lax/i, /path=\//i]) assert.match(cookie, flag);
    assert.ok(!/domain=/i.test(cookie));
  });
});
