import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { SIMULATED_USER_COOKIE } from '../../src/sandbox/simulator/WeChatSimulator';
import { imageLoaded, launchBrowser, phoneContext, screenshotPath, WECHAT_UA } from '../support/browser';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';

const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
// Carrier blocks whose region the offline database has long known.
const GUANGZHOU = '202.96.128.86';
const FUZHOU = '218.85.157.99';
const FUZHOU_OTHER_CARRIER = '36.248.0.1';
const XIAMEN = '110.80.0.1';
const FIREFOX_ON_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0';
const NOTICE_TEMPLATE = 'LoginNoticeE2E01';

const STACKS = [
  { title: 'MariaDB + Redis', shots: 'safety', env: (): Record<string, string> => ({}) },
  {
    title: 'the embedded demo stack (SQLite, in-memory stores)',
    shots: 'safety-demo',
    env: (dataDir: string): Record<string, string> => ({
      DATABASE_URL: `sqlite:${path.join(dataDir, 'safety.sqlite')}`,
      REDIS_URL: 'memory',
    }),
  },
];

/**
 * Login safety as the taxpayer sees it, in Chromium: the reference portal on a PC in one page, the
 * sandbox phone in another. Both stand behind the service's proxy (TRUST_PROXY=1), each page's
 * requests carrying its own X-Forwarded-For: the portal reports its browser's address with the
 * ticket, as a portal behind a proxy does, and the confirm page sees the phone's.
 */
for (const stack of STACKS)
  describe(`e2e: where a login comes from, the notice after it and 登录记录, on ${stack.title}`, function () {
    this.timeout(180_000);

    let dataDir: string;
    let live: TestApp & { url: string };
    let browser: Browser;
    let contexts: BrowserContext[] = [];
    let portal: Page;
    let phone: Page;
    let taxpayer: TestAccount;

    before(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'etax-e2e-safety-'));
      live = await startLiveApp({
        env: {
          PORTAL_DEMO: '1',
          TRUST_PROXY: '1',
          WECHAT_TEMPLATE_LOGIN_NOTICE: NOTICE_TEMPLATE,
          ...stack.env(dataDir),
        },
      });
      browser = await launchBrowser();
    });
    beforeEach(async () => {
      await resetState(live.deps);
      taxpayer = await createTestAccount(live.deps, { realName: '陈税友' });
    });
    afterEach(async function () {
      if (this.currentTest?.state === 'failed') {
        await portal?.screenshot({ path: screenshotPath(`${stack.shots}-FAILED-portal`) }).catch(() => undefined);
        await phone?.screenshot({ path: screenshotPath(`${stack.shots}-FAILED-phone`) }).catch(() => undefined);
      }
      for (const context of contexts) await context.close();
      contexts = [];
    });
    after(async () => {
      await browser?.close();
      await live?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    async function page(options: { userAgent: string; width: number; forwardedFor: string }): Promise<Page> {
      const context = await browser.newContext({
        viewport: { width: options.width, height: 900 },
        deviceScaleFactor: 1,
        userAgent: options.userAgent,
        locale: 'zh-CN',
        timezoneId: 'Asia/Shanghai',
        extraHTTPHeaders: { 'x-forwarded-for': options.forwardedFor },
      });
      context.setDefaultTimeout(30_000);
      contexts.push(context);
      return context.newPage();
    }

    const screen = (name: string) => phone.locator(`[data-screen="${name}"]`);
    const h5: () => FrameLocator = () => phone.frameLocator('#browser-frame');
    const phoneShot = (name: string) =>
      phone.locator('.phone').screenshot({ path: screenshotPath(`${stack.shots}-${name}`), animations: 'disabled' });

    /**
     * The PC at `computerIp` opens the portal's 微信扫码登录; the phone at `phoneIp` (a WeChat user
     * bound to the taxpayer's account, following 福建税务) scans the QR the portal shows and opens
     * the confirm link of the reply.
     */
    async function scanFromPhone(computerIp: string, phoneIp: string): Promise<void> {
      portal = await page({ userAgent: DESKTOP_UA, width: 1366, forwardedFor: computerIp });
      await portal.goto(`${live.url}/portal/login`);
      await portal.getByRole('tab', { name: '微信扫码登录' }).click();
      await imageLoaded(portal.locator('#qr-image'));
      await portal.locator('#qr-status-text').getByText('请使用微信扫一扫').waitFor();
      const shown = new URL((await portal.locator('#qr-image').getAttribute('src'))!, live.url).searchParams.get(
        'ticket',
      )!;

      phone = await page({ userAgent: WECHAT_UA, width: 1280, forwardedFor: phoneIp });
      await phone.goto(`${live.url}/sandbox/phone`);
      await phone.getByRole('textbox', { name: '昵称' }).fill('陈税友');
      await phone.getByRole('button', { name: '新建用户' }).click();
      await phone.getByRole('button', { name: '关注公众号' }).click();
      await phone.locator('#chat-footer').waitFor();
      // Set-up, not part of the walk: this WeChat is bound to the account (实名绑定 is walked in seed.test.ts).
      // The newest user of that name: the simulator keeps the users of earlier tests.
      const user = live.deps
        .simulator!.users()
        .filter((u) => u.nickname === '陈税友')
        .at(-1)!;
      await live.deps.db.getRepository(WechatBindingEntity).insert({
        id: randomUUID(),
        accountId: taxpayer.account.id,
        openid: user.openid,
        unionid: null,
        nickname: '陈税友',
        subscribed: true,
        boundAt: new Date(),
      });
      await live.deps.audit.record({ type: 'bind', accountId: taxpayer.account.id, openid: user.openid, ip: phoneIp });
      // An earlier password login of the account, from Xiamen, through the portal API (its notice comes first).
      const earlier = await fetch(`${live.url}/api/accounts/authenticate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${live.deps.config.portal.apiKeys[0]}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          loginName: taxpayer.phone,
          password: taxpayer.password,
          clientIp: XIAMEN,
          userAgent: FIREFOX_ON_MAC,
        }),
      });
      assert.equal(earlier.status, 200);
      await live.deps.loginNotices!.idle();

      await screen('chat').getByRole('button', { name: '返回' }).click();
      await screen('home').getByRole('button', { name: '更多' }).click();
      await phone.getByRole('menuitem', { name: '扫一扫' }).click();
      await screen('scan').locator(`#scan-codes [data-ticket="${shown}"]`).click();
      await imageLoaded(phone.locator('#scan-image[src*="showqrcode"]'));
      await phone.getByRole('button', { name: '扫描二维码' }).click();
      await screen('chat').waitFor();
      await phone.locator('#chat-body').getByRole('link', { name: '点击这里核对并确认登录' }).click();
      await h5().getByRole('heading', { name: '福建省网上税务局登录确认' }).waitFor();
    }

    /** 确定登录 on the phone; the portal's long-poll logs it in; the phone is back in the chat. */
    async function confirmAndLogIn(): Promise<void> {
      await h5().getByRole('button', { name: '确定登录' }).click();
      await h5().getByRole('heading', { name: '登录成功' }).waitFor();
      await portal.waitForURL(`${live.url}/portal/`);
      await portal.locator('.topbar').getByText('欢迎您，陈税友').waitFor();
      await phone.getByRole('button', { name: '关闭' }).click();
      await screen('chat').waitFor();
    }

    /** The newest template message in the chat. */
    const notice = () => phone.locator('#chat-body .msg-account[data-source="template"]').last();

    it('V6.3.5 a PC in another province: the phone is warned, confirms, the notice arrives in the chat, 登录记录 lists the login', async () => {
      await scanFromPhone(GUANGZHOU, FUZHOU);
      const warning = h5().getByRole('alert');
      assert.equal(
        (await warning.innerText()).trim(),
        '请求登录的电脑位于 广东 广州，与您当前所在地 福建 福州 不同。如非本人在电脑上操作，请点击"取消"。',
      );
      await phoneShot('confirm-other-province');
      await confirmAndLogIn();

      // The notice: a template message card, as WeChat shows one.
      await notice().waitFor();
      const card = notice().locator('.card-template');
      assert.equal((await card.locator('.card-title').innerText()).trim(), '账号登录提醒');
      const labels = await card.locator('.card-fields dt').allInnerTexts();
      const values = await card.locator('.card-fields dd').allInnerTexts();
      const fields = Object.fromEntries(labels.map((label, i) => [label, values[i]])) as Record<string, string>;
      assert.equal(fields['登录方式'], '微信扫码');
      assert.equal(fields['登录平台'], '网上税务局');
      assert.match(fields['登录地点']!, /^广东 广州/);
      assert.equal(fields['登录设备'], 'Windows 上的 Chrome');
      assert.match(fields['登录时间']!, /^\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d$/);
      await phoneShot('notice-in-chat');

      // 详情 opens 登录记录 in the in-app browser, through the simulated OAuth.
      await card.getByText('详情').click();
      await h5().getByRole('heading', { name: '登录记录' }).waitFor();
      const kinds = [];
      for (const item of await h5().locator('.login-record').all()) kinds.push(await item.getAttribute('data-kind'));
      assert.deepEqual(kinds, ['qr', 'password', 'bind']);
      const entry = await h5().locator('.login-record').first().innerText();
      assert.match(entry, /微信扫码登录 · 网上税务局/);
      assert.match(entry, /电脑所在地：广东 广州/);
      assert.match(entry, /浏览器：Windows 上的 Chrome 浏览器/);
      assert.match(entry, /确认微信：.+（本微信）/);
      await phoneShot('logins');

      // The same page in a phone-sized browser of that WeChat user, whole (docs/screenshots/login-history.png).
      const openid = live.deps.simulator!.users().at(-1)!.openid;
      const alone = await phoneContext(browser);
      contexts.push(alone);
      await alone.addCookies([{ name: SIMULATED_USER_COOKIE, value: openid, url: live.url }]);
      const history = await alone.newPage();
      await history.goto(`${live.url}/h5/logins`);
      await history.getByRole('heading', { name: '登录记录' }).waitFor();
      await history.screenshot({ path: screenshotPath(`${stack.shots}-logins-phone-size`), fullPage: true });

      // 不是我本人 → what to do, and 解绑本微信.
      await h5().getByRole('link', { name: '不是我本人？' }).click();
      await h5().getByRole('heading', { name: '发现不是您本人的登录' }).waitFor();
      await phoneShot('not-me');
    });

    it("a PC in the phone's city: no warning, and the notice still follows the login", async () => {
      await scanFromPhone(FUZHOU_OTHER_CARRIER, FUZHOU);
      assert.equal(await h5().locator('[data-region="computer"]').innerText(), '福建 福州 联通');
      assert.equal(await h5().getByRole('alert').count(), 0);
      await phoneShot('confirm-same-city');
      await confirmAndLogIn();
      await notice().waitFor();
      assert.match(await notice().innerText(), /福建 福州 联通/);
    });
  });
