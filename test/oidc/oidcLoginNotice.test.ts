import assert from 'node:assert/strict';
import request from 'supertest';
import { systemClock } from '../../src/clock/Clock';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { WECHAT_UA } from '../support/browser';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import {
  authorizeQuery,
  bindWeChat,
  CLIENT_ID,
  CLIENT_SECRET,
  clientsFile,
  followToCallback,
  openInWeChat,
  openLoginPage,
  pkcePair,
  postPassword,
  REDIRECT,
} from './support/oidcFixtures';

const TEMPLATE_ID = 'LoginNoticeTemplate01';
const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

type TemplateBody = { template_id: string; url: string; data: Record<string, { value: string }> };

/**
 * 账号登录提醒 after the OpenID Connect provider's logins, as after the portal API's: every
 * successful login on its page (scan, password, 确定登录 inside WeChat's browser) tells every WeChat
 * bound to the account, naming the site (its client_name); a failed login tells nobody, and a
 * notice that cannot be sent fails no login.
 */
describe("oidc: the login notice after each login on the provider's page", () => {
  const wechat = useSimulatedWeChat(systemClock);
  let t: TestApp;
  let taxpayer: TestAccount;
  let openid: string;

  before(async () => {
    t = await createTestApp({
      env: {
        OIDC_CLIENTS_FILE: clientsFile(),
        SANDBOX: '1',
        ...wechat.env(),
        WECHAT_TEMPLATE_LOGIN_NOTICE: TEMPLATE_ID,
        WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS: 'time=time1,method=thing2,portal=thing3,region=thing4,browser=thing5',
        // A failing send gives up quickly, so the tests do not wait on WeChat's 3 s.
        WECHAT_API_TIMEOUT_MS: '1000',
      },
    });
  });
  after(() => t.close());
  beforeEach(async () => {
    await resetState(t.deps);
    taxpayer = await createTestAccount(t.deps, { realName: '林纳税' });
    openid = wechat.sim.createUser('林纳税的微信').openid;
    await bindWeChat(t.deps.db, taxpayer.account.id, openid);
  });

  /** The notices the bound WeChat received, once every notice started so far has settled. */
  async function noticesReceived() {
    await t.deps.loginNotices!.idle();
    return wechat.sim.outbox
      .filter((m) => m.kind === 'template' && m.touser === openid)
      .map((m) => m.body as TemplateBody);
  }

  /** A desktop browser (its User-Agent on every request). */
  const desktop = () => request.agent(t.app.callback()).set('User-Agent', DESKTOP_UA);

  /** The site redeems the code: the login went through. */
  async function redeem(callback: URL, verifier: string) {
    const tokens = await request(t.app.callback())
      .post('/oidc/token')
      .auth(CLIENT_ID, CLIENT_SECRET)
      .type('form')
      .send({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code'),
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      });
    assert.equal(tokens.status, 200, tokens.text);
  }

  it('实名用户登录: 账号密码, the site, this browser, with 详情 opening 登录记录', async () => {
    const browser = desktop();
    const { verifier, challenge } = pkcePair();
    const login = await openLoginPage(browser, authorizeQuery(challenge));
    const answer = await postPassword(browser, login, { loginName: taxpayer.idNumber, password: taxpayer.password });
    assert.equal(answer.status, 303, answer.text);
    await redeem(await followToCallback(browser, answer.headers.location!), verifier);

    const [notice, ...more] = await noticesReceived();
    assert.equal(more.length, 0, 'one notice per login');
    assert.equal(notice!.template_id, TEMPLATE_ID);
    assert.equal(notice!.url, `${t.deps.config.publicUrl}/h5/logins`);
    assert.match(notice!.data.time1!.value, /^\d{4}年\d+月\d+日 \d\d:\d\d$/);
    assert.equal(notice!.data.thing2!.value, '账号密码');
    assert.equal(notice!.data.thing3!.value, '发票服务平台');
    assert.equal(notice!.data.thing5!.value, 'Windows 上的 Chrome');
  });

  it('微信扫码登录: 微信扫码, the site, and the browser that showed the QR code', async () => {
    const browser = desktop();
    const { verifier, challenge } = pkcePair();
    const login = await openLoginPage(browser, authorizeQuery(challenge));
    const qrUrl = /id="qr-image" class="qr-image" src="([^"]+)"/.exec(login.html)![1]!;
    const qr = wechat.sim.qrByTicket(new URL(qrUrl.replaceAll('&amp;', '&')).searchParams.get('ticket')!)!;
    const reply = await t.deps.login.onScan({ openid, scene: qr.sceneStr!, viaSubscribe: false });
    const confirmToken = /c=([0-9a-f]{48})/.exec(JSON.stringify(reply))![1]!;
    const onPhone = { ip: '127.0.0.1', userAgent: WECHAT_UA };
    assert.equal((await t.deps.login.confirm(confirmToken, openid, onPhone)).result, 'done');
    assert.equal((await noticesReceived()).length, 0, 'nothing before the site has the login');

    const finished = await browser.post(`${login.page}/wechat`).type('form').send({ _csrf: login.csrf });
    assert.equal(finished.status, 303, finished.text);
    await redeem(await followToCallback(browser, finished.headers.location!), verifier);

    const [notice, ...more] = await noticesReceived();
    assert.equal(more.length, 0);
    assert.equal(notice!.data.thing2!.value, '微信扫码');
    assert.equal(notice!.data.thing3!.value, '发票服务平台');
    assert.equal(notice!.data.thing5!.value, 'Windows 上的 Chrome', "the computer's browser, not the phone's");
  });

  it("inside WeChat's browser: 微信内确认, the site, the phone's browser", async () => {
    const browser = request.agent(t.app.callback());
    const { verifier, challenge } = pkcePair();
    const { page, shown } = await openInWeChat(browser, wechat.url, openid, authorizeQuery(challenge));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(shown.text)![1]!;
    const confirmed = await browser
      .post(`${page}/wechat-confirm`)
      .set('User-Agent', WECHAT_UA)
      .type('form')
      .send({ _csrf: csrf });
    assert.equal(confirmed.status, 303, confirmed.text);
    await redeem(await followToCallback(browser, confirmed.headers.location!), verifier);

    const [notice, ...more] = await noticesReceived();
    assert.equal(more.length, 0);
    assert.equal(notice!.data.thing2!.value, '微信内确认');
    assert.equal(notice!.data.thing3!.value, '发票服务平台');
    assert.equal(notice!.data.thing5!.value, 'iOS 上的 微信');
  });

  it('a refused password or an unconfirmed scan tells nobody', async () => {
    const browser = desktop();
    const login = await openLoginPage(browser, authorizeQuery(pkcePair().challenge));
    const wrong = await postPassword(browser, login, { loginName: taxpayer.idNumber, password: 'Wrong-pass-123' });
    assert.equal(wrong.status, 401);
    const early = await browser.post(`${login.page}/wechat`).type('form').send({ _csrf: login.csrf });
    assert.equal(early.status, 400);
    assert.equal((await noticesReceived()).length, 0);
  });

  it('a notice WeChat refuses twice fails no login: the site still gets its code and tokens', async () => {
    const failures = async () =>
      (await t.deps.metrics.registry.getSingleMetric('etax_login_notices_total')!.get()).values.find(
        (v) => v.labels.outcome === 'failed',
      )?.value ?? 0;
    const before = await failures();
    wechat.sim.failNext('/cgi-bin/message/template/send', { status: 502 }, 2);
    const browser = desktop();
    const { verifier, challenge } = pkcePair();
    const login = await openLoginPage(browser, authorizeQuery(challenge));
    const answer = await postPassword(browser, login, { loginName: taxpayer.idNumber, password: taxpayer.password });
    assert.equal(answer.status, 303, answer.text);
    await redeem(await followToCallback(browser, answer.headers.location!), verifier);
    assert.equal((await noticesReceived()).length, 0, 'both tries refused');
    assert.equal((await failures()) - before, 1, 'counted as failed');
  });
});
