import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { SIMULATED_USER_COOKIE } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { imageLoaded, launchBrowser, phoneContext, screenshotPath } from '../support/browser';
import { createTestApp, listen, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** A free loopback port (PUBLIC_URL must name it before the app is built). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * The load balancer in front of two instances: the authorization and the login page go to the
 * first, everything else (the site's callback, the token and userinfo calls, the phone, WeChat's
 * pushes, the simulator) to the second.
 */
function balancer(port: number, first: string, second: string): Promise<Server> {
  const server = createServer((req, res) => {
    const toFirst = /^\/oidc\/(auth|interaction|static)(\/|\?|$)/.test(req.url ?? '');
    const target = new URL(req.url ?? '/', toFirst ? first : second);
    const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function clientsFileFor(siteUrl: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'oidc-browser-')), 'clients.json');
  const client = {
    client_id: 'invoice-demo',
    client_secret: 'invoice-demo-secret-0123456789abcdef',
    client_name: '发票服务平台（演示）',
    redirect_uris: [`${siteUrl}/rp/callback`],
    post_logout_redirect_uris: [`${siteUrl}/rp/`],
    scope: 'openid profile masked_identity',
  };
  writeFileSync(file, JSON.stringify({ clients: [client] }));
  return file;
}

interface Deployment {
  url: string;
  /** The instance the phone and WeChat reach (the only one on the embedded stack). */
  back: TestApp;
  close(): Promise<void>;
}

/** MariaDB + Redis: two instances behind the balancer, one PUBLIC_URL. */
async function twoInstances(): Promise<Deployment> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const simulator = `${url}/sandbox/wechat`;
  const settings = {
    PUBLIC_URL: url,
    PORTAL_DEMO: '1',
    SANDBOX: '1',
    OIDC_CLIENTS_FILE: clientsFileFor(url),
    WECHAT_API_BASE: simulator,
    WECHAT_OPEN_BASE: simulator,
    WECHAT_MP_BASE: simulator,
  };
  const front = await createTestApp({ env: settings });
  const back = await createTestApp({ env: settings });
  const [a, b] = await Promise.all([listen(front.app), listen(back.app)]);
  const lb = await balancer(port, a.url, b.url);
  return {
    url,
    back,
    close: async () => {
      lb.closeAllConnections();
      await new Promise<void>((resolve) => lb.close(() => resolve()));
      await a.close();
      await b.close();
      await front.close();
      await back.close();
    },
  };
}

/** The embedded stack (`npm run demo`): SQLite and in-memory stores, one instance. */
async function embedded(): Promise<Deployment> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const simulator = `${url}/sandbox/wechat`;
  const app = await createTestApp({
    env: {
      PUBLIC_URL: url,
      PORTAL_DEMO: '1',
      SANDBOX: '1',
      OIDC_CLIENTS_FILE: clientsFileFor(url),
      WECHAT_API_BASE: simulator,
      WECHAT_OPEN_BASE: simulator,
      WECHAT_MP_BASE: simulator,
      REDIS_URL: 'memory',
      DATABASE_URL: `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'oidc-browser-db-')), 'demo.sqlite')}`,
    },
  });
  const server = app.app.listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url,
    back: app,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    },
  };
}

const STACKS = [
  {
    title: 'MariaDB + Redis, authorize on one instance, callback and token on the other',
    shots: 'oidc',
    start: twoInstances,
  },
  { title: 'the embedded stores', shots: 'oidc-demo', start: embedded },
];

for (const stack of STACKS) {
  describe(`oidc: a relying party logs in through the provider in Chromium (${stack.title})`, () => {
    let deployment: Deployment;
    let browser: Browser;
    let desktop: BrowserContext;
    let page: Page;
    let taxpayer: TestAccount;
    let openid: string;
    const driver = new PushDriver({
      token: env.WECHAT_TOKEN!,
      appId: env.WECHAT_APPID!,
      encodingAesKey: env.WECHAT_ENCODING_AES_KEY!,
      mode: 'safe',
    });
    const shot = (p: Page, name: string) =>
      p.screenshot({ path: screenshotPath(`${stack.shots}-${name}`), fullPage: true });

    before(async () => {
      deployment = await stack.start();
      const { back } = deployment;
      await resetState(back.deps);
      taxpayer = await createTestAccount(back.deps, { realName: '林纳税' });
      openid = back.deps.simulator!.createUser('林纳税的微信').openid;
      await back.deps.db.getRepository(WechatBindingEntity).insert({
        id: randomUUID(),
        accountId: taxpayer.account.id,
        openid,
        unionid: null,
        nickname: '林纳税的微信',
        subscribed: true,
        boundAt: new Date(),
      });
      browser = await launchBrowser();
      desktop = await browser.newContext({
        viewport: { width: 1366, height: 900 },
        userAgent: DESKTOP_UA,
        locale: 'zh-CN',
      });
      page = await desktop.newPage();
    });
    after(async () => {
      await browser?.close();
      await deployment?.close();
    });

    it('authorize → our page → the phone scans and taps 确定登录 → callback → tokens → userinfo', async () => {
      const { url, back } = deployment;
      await page.goto(`${url}/rp/`);
      await page.getByRole('link', { name: '使用福建省网上税务局账号登录' }).click();
      await page.waitForURL(/\/oidc\/interaction\/[\w-]+$/);
      assert.ok((await page.locator('.client-name').innerText()).includes('发票服务平台（演示）'));
      await imageLoaded(page.locator('#qr-image'));
      assert.equal(await page.locator('#qr-status-text').innerText(), '请使用微信扫一扫');
      await shot(page, '1-login-qr-desktop');

      // WeChat: the phone scans the QR the page shows (a SCAN push as WeChat sends it).
      const src = await page.locator('#qr-image').getAttribute('src');
      const qr = back.deps.simulator!.qrByTicket(new URL(src!).searchParams.get('ticket')!)!;
      const pushed = await driver.post(`${url}/wechat`, driver.sign(driver.event(openid, 'SCAN', qr.sceneStr)));
      const reply = (await driver.readReply(pushed.body))?.Content ?? '';
      const link = /href="([^"]+)"/.exec(reply)?.[1];
      assert.ok(link, reply);
      await page.getByText('已扫码，请在手机上确认').waitFor();
      await shot(page, '2-scanned');

      const phone = await phoneContext(browser);
      await phone.addCookies([{ name: SIMULATED_USER_COOKIE, value: openid, url }]);
      const phonePage = await phone.newPage();
      await phonePage.goto(link);
      assert.ok(
        (await phonePage.locator('body').innerText()).includes('发票服务平台（演示）'),
        'the phone names the site',
      );
      await shot(phonePage, '3-phone-confirm');
      await phonePage.getByRole('button', { name: '确定登录' }).click();
      await phonePage.getByRole('heading', { name: '登录成功' }).waitFor();
      await phone.close();

      // No click on the desktop: the page sees `confirmed`, finishes, and the site gets its code.
      await page.waitForURL(`${url}/rp/`);
      assert.equal(await page.locator('[data-claim="sub"]').innerText(), taxpayer.account.id);
      assert.equal(await page.locator('[data-claim="acr"]').innerText(), 'urn:etax:acr:wechat-bound');
      assert.equal(await page.locator('[data-claim="amr"]').innerText(), 'wechat_scan');
      const claims = await page.locator('.claims').innerText();
      assert.ok(claims.includes('"name": "林**"'), claims);
      assert.ok(claims.includes(`${taxpayer.phone.slice(0, 3)}****${taxpayer.phone.slice(-4)}`), claims);
      await shot(page, '4-site-logged-in');
    });

    it('RP-initiated logout: 退出 asks on the provider, 确定退出 ends the session and returns to the site', async () => {
      const { url } = deployment;
      await page.getByRole('button', { name: '退出' }).click();
      await page.getByRole('heading', { name: '退出登录' }).waitFor();
      await shot(page, '5-logout');
      await page.getByRole('button', { name: '确定退出' }).click();
      await page.waitForURL(`${url}/rp/`);
      await page.getByRole('link', { name: '使用福建省网上税务局账号登录' }).waitFor();
      // The provider's session is gone: logging in again asks again.
      await page.getByRole('link', { name: '使用福建省网上税务局账号登录' }).click();
      await page.waitForURL(/\/oidc\/interaction\/[\w-]+$/);
    });

    it("inside WeChat's browser: the bound WeChat confirms on the page itself (snsapi_base, no QR)", async () => {
      const { url } = deployment;
      const phone = await phoneContext(browser);
      await phone.addCookies([{ name: SIMULATED_USER_COOKIE, value: openid, url }]);
      const p = await phone.newPage();
      await p.goto(`${url}/rp/login`);
      await p.getByRole('heading', { name: '使用当前微信登录' }).waitFor();
      assert.equal(await p.locator('#qr-image').count(), 0);
      await shot(p, '8-wechat-browser-confirm');
      await p.getByRole('button', { name: '确定登录' }).click();
      await p.waitForURL(`${url}/rp/`);
      assert.equal(await p.locator('[data-claim="amr"]').innerText(), 'wechat_oauth');
      await phone.close();
    });

    it('实名用户登录 on the page at phone size, with the captcha', async () => {
      const { url } = deployment;
      const small = await browser.newContext({
        viewport: { width: 375, height: 812 },
        deviceScaleFactor: 2,
        isMobile: true,
        locale: 'zh-CN',
      });
      const p = await small.newPage();
      await p.goto(`${url}/rp/login`);
      await p.waitForURL(/\/oidc\/interaction\/[\w-]+$/);
      await shot(p, '6-login-phone-size');
      await p.getByRole('tab', { name: '实名用户登录' }).click();
      const loaded = p.waitForResponse((r) => r.url().includes('/captcha'));
      await p.locator('.captcha-img').click();
      const answer = (await loaded).headers()['x-sandbox-captcha']!;
      await p.getByLabel('登录账号').fill(taxpayer.idNumber);
      await p.getByLabel('登录密码').fill(taxpayer.password);
      await p.getByLabel('验证码').fill(answer);
      await shot(p, '7-password-phone-size');
      await p.getByRole('button', { name: '登　录' }).click();
      await p.waitForURL(`${url}/rp/`);
      assert.equal(await p.locator('[data-claim="acr"]').innerText(), 'urn:etax:acr:password');
      assert.equal(await p.locator('[data-claim="amr"]').innerText(), 'pwd');
      await small.close();
    });
  });
}
