import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { systemClock } from '../../src/clock/Clock';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
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

const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;

/** The code for `callback` at the token endpoint of `app`. */
async function exchange(t: TestApp, callback: URL, verifier: string) {
  return request(t.app.callback())
    .post('/oidc/token')
    .set('Authorization', basic)
    .type('form')
    .send({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code'),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
}

const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * The login page of the provider on both stacks: 实名用户登录 and 微信扫码登录 end in a code for
 * the client, its tokens and userinfo; on MariaDB + Redis the authorization starts on one instance
 * and the code is redeemed on another.
 */
for (const stack of ['MariaDB + Redis, two instances', 'embedded stores'] as const) {
  describe(`oidc: the login page (${stack})`, () => {
    const wechat = useSimulatedWeChat(systemClock);
    let a: TestApp;
    let b: TestApp;
    let taxpayer: TestAccount;

    before(async () => {
      const embedded =
        stack === 'embedded stores'
          ? {
              REDIS_URL: 'memory',
              DATABASE_URL: `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'oidc-sqlite-')), 'demo.sqlite')}`,
            }
          : {};
      const env = { OIDC_CLIENTS_FILE: clientsFile(), SANDBOX: '1', ...wechat.env(), ...embedded };
      a = await createTestApp({ env });
      // The embedded stack is one process: its second "instance" is itself.
      b = stack === 'embedded stores' ? a : await createTestApp({ env });
    });
    after(async () => {
      await a.close();
      if (b !== a) await b.close();
    });
    beforeEach(async () => {
      await resetState(a.deps);
      taxpayer = await createTestAccount(a.deps, { realName: '林纳税' });
    });

    it('实名用户登录: password and captcha give the client a code, tokens with acr/amr, and userinfo', async () => {
      const browser = request.agent(a.app.callback());
      const { verifier, challenge } = pkcePair();
      const query = authorizeQuery(challenge);
      const login = await openLoginPage(browser, query);
      assert.ok(login.html.includes('发票服务平台'), 'the page names the client');
      const answer = await postPassword(browser, login, { loginName: taxpayer.idNumber, password: taxpayer.password });
      assert.equal(answer.status, 303, answer.text);
      const callback = await followToCallback(browser, answer.headers.location!);
      assert.equal(callback.searchParams.get('state'), query.state);
      assert.equal(callback.searchParams.get('iss'), 'http://127.0.0.1:3000/oidc');

      const tokens = await exchange(b, callback, verifier);
      assert.equal(tokens.status, 200, tokens.text);
      const idToken = claimsOf(tokens.body.id_token);
      assert.equal(idToken.sub, taxpayer.account.id);
      assert.equal(idToken.nonce, query.nonce);
      assert.equal(idToken.acr, 'urn:etax:acr:password');
      assert.deepEqual(idToken.amr, ['pwd']);
      assert.equal(typeof idToken.auth_time, 'number');

      const userinfo = await request(b.app.callback())
        .get('/oidc/me')
        .set('Authorization', `Bearer ${tokens.body.access_token}`);
      assert.equal(userinfo.status, 200, userinfo.text);
      assert.equal(userinfo.body.sub, taxpayer.account.id);
      assert.equal(userinfo.body.name, '林**');
      assert.equal(userinfo.body.id_number, undefined, 'the full ID number only with its own scope');
    });

    it('实名用户登录: a wrong password stays on the page with one message, and gives no code', async () => {
      const browser = request.agent(a.app.callback());
      const login = await openLoginPage(browser, authorizeQuery(pkcePair().challenge));
      const answer = await postPassword(browser, login, { loginName: taxpayer.idNumber, password: 'Wrong-pass-123' });
      assert.equal(answer.status, 401);
      assert.ok(answer.text.includes('登录账号或登录密码错误，请重新输入。'));
      assert.equal(answer.headers.location, undefined);
    });

    it("微信扫码登录: the phone scans the page's QR, confirms, and the page goes on to the client", async () => {
      const openid = wechat.sim.createUser('林纳税的微信').openid;
      await bindWeChat(a.deps.db, taxpayer.account.id, openid);
      const browser = request.agent(a.app.callback());
      const { verifier, challenge } = pkcePair();
      const login = await openLoginPage(browser, authorizeQuery(challenge));
      const qrUrl = /id="qr-image" class="qr-image" src="([^"]+)"/.exec(login.html)?.[1];
      assert.ok(qrUrl, 'the page shows a QR code');
      const qr = wechat.sim.qrByTicket(new URL(qrUrl.replaceAll('&amp;', '&')).searchParams.get('ticket')!)!;

      const reply = await a.deps.login.onScan({ openid, scene: qr.sceneStr!, viaSubscribe: false });
      const confirmToken = /c=([0-9a-f]{48})/.exec(JSON.stringify(reply))?.[1];
      assert.ok(confirmToken, 'the scan is answered with the confirm link');
      const onPhone = await a.deps.login.ticketForConfirmation(confirmToken);
      assert.equal(onPhone?.ticket.portalDisplayName, '发票服务平台', 'the phone is told which site asks');

      const early = await browser.post(`${login.page}/wechat`).type('form').send({ _csrf: login.csrf });
      assert.equal(early.status, 400);
      assert.ok(early.text.includes('请先在手机上点击“确定登录”。'));

      const status = await browser.get(`${login.page}/status`);
      assert.deepEqual(status.body, { status: 'scanned' });
      assert.equal(
        (await a.deps.login.confirm(confirmToken, openid, { ip: '127.0.0.1', userAgent: 'phone' })).result,
        'done',
      );

      const finished = await browser.post(`${login.page}/wechat`).type('form').send({ _csrf: login.csrf });
      assert.equal(finished.status, 303, finished.text);
      const callback = await followToCallback(browser, finished.headers.location!);
      const tokens = await exchange(b, callback, verifier);
      assert.equal(tokens.status, 200, tokens.text);
      const idToken = claimsOf(tokens.body.id_token);
      assert.equal(idToken.sub, taxpayer.account.id);
      assert.equal(idToken.acr, 'urn:etax:acr:wechat-bound');
      assert.deepEqual(idToken.amr, ['wechat_scan']);
    });

    it("in WeChat's browser: snsapi_base identifies a bound WeChat, which confirms on that same page (no QR)", async () => {
      const openid = wechat.sim.createUser('林纳税的微信').openid;
      await bindWeChat(a.deps.db, taxpayer.account.id, openid);
      const browser = request.agent(a.app.callback());
      const { verifier, challenge } = pkcePair();
      const { page, shown } = await openInWeChat(browser, wechat.url, openid, authorizeQuery(challenge));
      assert.equal(shown.status, 200);
      assert.ok(shown.text.includes('使用当前微信登录'));
      assert.ok(!shown.text.includes('qr-image'), 'no QR code on the phone one is holding');
      assert.ok(shown.text.includes('林**'));
      const csrf = /name="_csrf" value="([^"]+)"/.exec(shown.text)![1]!;
      const confirmed = await browser.post(`${page}/wechat-confirm`).type('form').send({ _csrf: csrf });
      assert.equal(confirmed.status, 303, confirmed.text);
      const tokens = await exchange(b, await followToCallback(browser, confirmed.headers.location!), verifier);
      const idToken = claimsOf(tokens.body.id_token);
      assert.equal(idToken.sub, taxpayer.account.id);
      assert.equal(idToken.acr, 'urn:etax:acr:wechat-bound');
      assert.deepEqual(idToken.amr, ['wechat_oauth']);
    });

    it("in WeChat's browser: an unbound WeChat is offered the password login, and its confirm is refused", async () => {
      const openid = wechat.sim.createUser('陌生人').openid;
      const browser = request.agent(a.app.callback());
      const { page, shown } = await openInWeChat(browser, wechat.url, openid, authorizeQuery(pkcePair().challenge));
      assert.ok(shown.text.includes('您的微信尚未绑定实名账号'));
      const csrf = /name="_csrf" value="([^"]+)"/.exec(shown.text)![1]!;
      const refused = await browser.post(`${page}/wechat-confirm`).type('form').send({ _csrf: csrf });
      assert.equal(refused.status, 400);
      assert.equal(refused.headers.location, undefined);
    });
  });
}
