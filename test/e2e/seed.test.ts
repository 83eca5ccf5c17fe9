import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, FrameLocator, Locator, Page } from 'playwright-core';
import { createTestAccount, gb11643CheckCharacter, type TestAccount } from '../support/accountFixtures';
import { imageLoaded, launchBrowser, screenshotPath, WECHAT_UA } from '../support/browser';
import { SkippingClock } from '../support/skippingClock';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';

const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** Where the walk runs: the production stack, and the one `npm run demo` runs on. */
interface Stack {
  title: string;
  /** Screenshot names start with it. */
  shots: string;
  env(dataDir: string): Record<string, string>;
}
const STACKS: Stack[] = [
  { title: 'MariaDB + Redis', shots: 'seed', env: () => ({}) },
  {
    title: 'the embedded demo stack (SQLite, in-memory stores)',
    shots: 'seed-demo',
    // As `npm run demo`: 实名注册 verified by the sandbox's 实名核身 stand-in through the SDK.
    env: (dataDir) => ({
      DATABASE_URL: `sqlite:${path.join(dataDir, 'seed.sqlite')}`,
      REDIS_URL: 'memory',
      IDENTITY_VERIFIER: 'tencentcloud',
    }),
  },
];

/**
 * The user manual's seed, walked end to end the way a person would: the reference portal in one
 * desktop page, the sandbox phone (/sandbox/phone at desktop size, showing the phone) in another
 * page of the same browser. Everything happens through the two pages' UI: the sandbox's image
 * captcha answers are read from the X-Sandbox-Captcha header of the image as the page loads it, and
 * the SMS codes from the phone's 我 → 短信 inbox. Only the portal account of 1.3 is seeded.
 *
 * The three parts run in order and share state: 1.3 binds 张三's account to the first WeChat,
 * 3.3 registers a second WeChat user, 2.3 unbinds the first WeChat again.
 *
 * The login QR codes come from the scene pool: 1.3 and 2.3 get a QR made for them, 3.3 gets 1.3's QR
 * again (its scene recycled after the quiet period, which the walk skips on the service's clock).
 *
 * The walk runs on both stacks. Screenshots of every step: test-artifacts/seed-<section>-<portal|phone>-<what>.png
 * (seed-demo-… on the demo stack).
 */
for (const stack of STACKS)
  describe(`e2e: the seed in Chromium on ${stack.title}, portal and phone side by side`, function () {
    this.timeout(240_000);

    let live: TestApp & { url: string };
    let browser: Browser;
    let portalContext: BrowserContext;
    let phoneContext: BrowserContext;
    let portal: Page;
    let phone: Page;
    let taxpayer: TestAccount;

    const FIRST_WECHAT = '张三的微信';
    const SECOND_WECHAT = '王新税';
    const registrant = {
      realName: '王新税',
      // 福州市鼓楼区, born 1988-08-15, sequence 351, and its GB 11643 check character.
      idNumber: `35010219880815351${gb11643CheckCharacter('35010219880815351')}`,
      phone: '13959001234',
      password: 'Xin-shui-2025',
    };

    let dataDir: string;
    const clock = new SkippingClock();
    /** The WeChat QR ticket of 1.3's login QR, which 3.3 is shown again. */
    let firstQr: string;

    before(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'etax-e2e-'));
      live = await startLiveApp({ clock, env: { PORTAL_DEMO: '1', ...stack.env(dataDir) } });
      await resetState(live.deps);
      // Set-up, not part of the walk: the portal account 张三 already has (seed 1.2: 已实名注册用户).
      taxpayer = await createTestAccount(live.deps, { realName: '张三' });
      browser = await launchBrowser();
      portalContext = await browser.newContext({
        viewport: { width: 1366, height: 900 },
        deviceScaleFactor: 1,
        userAgent: DESKTOP_UA,
        locale: 'zh-CN',
        timezoneId: 'Asia/Shanghai',
      });
      phoneContext = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        deviceScaleFactor: 1,
        userAgent: WECHAT_UA,
        locale: 'zh-CN',
        timezoneId: 'Asia/Shanghai',
      });
      for (const context of [portalContext, phoneContext]) context.setDefaultTimeout(30_000);
      portal = await portalContext.newPage();
      phone = await phoneContext.newPage();
    });
    afterEach(async function () {
      if (this.currentTest?.state !== 'failed') return;
      // What both screens showed when a step failed.
      await portal?.screenshot({ path: screenshotPath(`${stack.shots}-FAILED-portal`) }).catch(() => undefined);
      await phone?.screenshot({ path: screenshotPath(`${stack.shots}-FAILED-phone`) }).catch(() => undefined);
    });
    after(async () => {
      await browser?.close();
      await live?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    // ---- the portal ----------------------------------------------------------------------------

    // Finite CSS animations (the SMS banner dropping in) are shown finished.
    const portalShot = (name: string) =>
      portal.screenshot({ path: screenshotPath(`${stack.shots}-${name}`), animations: 'disabled' });
    const qrStatus = () => portal.locator('#qr-status-text');

    /** The ticket inside the QR image the portal shows (showqrcode?ticket=…). */
    async function portalTicket(): Promise<string> {
      const src = await portal.locator('#qr-image').getAttribute('src');
      assert.ok(src, 'the portal shows a QR image');
      return new URL(src, live.url).searchParams.get('ticket')!;
    }

    /** 【登录】-【微信扫码登录】 from wherever the portal is: the QR is loaded and waits for a scan. */
    async function openPortalQrLogin(): Promise<void> {
      await portal.locator('.mainnav').getByRole('link', { name: '登录' }).click();
      await portal.waitForURL(/\/portal\/login$/);
      await portal.getByRole('tab', { name: '微信扫码登录' }).click();
      await portal.locator('#qr-image').waitFor();
      await imageLoaded(portal.locator('#qr-image'));
      await qrStatus().getByText('请使用微信扫一扫').waitFor();
    }

    async function portalLogOut(): Promise<void> {
      await portal.locator('.topbar').getByRole('button', { name: '退出' }).click();
      await portal.getByText('您已安全退出福建省网上税务局。').waitFor();
    }

    /** No click on the portal: its long-poll sees `confirmed`, redeems the ticket and logs in. */
    async function portalLoggedInAs(realName: string): Promise<void> {
      await portal.waitForURL(`${live.url}/portal/`);
      const card = portal.locator('.login-card');
      await card.getByRole('link', { name: '个人进入' }).waitFor();
      await card.getByText(realName, { exact: true }).waitFor();
      await portal.locator('.topbar').getByText(`欢迎您，${realName}`).waitFor();
    }

    // ---- the phone -------------------------------------------------------------------------------

    /** The phone itself (its frame on the desk page); `wholePage` adds the desk around it. */
    const phoneShot = (name: string, wholePage = false) =>
      (wholePage ? phone : phone.locator('.phone')).screenshot({
        path: screenshotPath(`${stack.shots}-${name}`),
        animations: 'disabled',
      });
    const screen = (name: string) => phone.locator(`[data-screen="${name}"]`);
    const chat = () => phone.locator('#chat-body');
    const h5: () => FrameLocator = () => phone.frameLocator('#browser-frame');

    /** ‹ on the current screen (the phone has one per screen; only the visible one is a button to a person). */
    async function phoneBack(from: string): Promise<void> {
      await screen(from).getByRole('button', { name: '返回' }).click();
    }

    async function newPhoneUser(nickname: string): Promise<void> {
      await screen('users').getByRole('heading', { name: '选择微信用户' }).waitFor();
      await phone.getByRole('textbox', { name: '昵称' }).fill(nickname);
      await phone.getByRole('button', { name: '新建用户' }).click();
      await screen('chat').waitFor();
      await phone.locator('#follow-bar').waitFor();
    }

    /** 我 → 短信 → 本机号码 → 保存, then back to the chat with 福建税务 (the phone is on its chat list or chat). */
    async function setPhoneNumber(number: string, shot: string): Promise<void> {
      if (await screen('chat').isVisible()) await phoneBack('chat');
      await screen('home').getByRole('button', { name: '我', exact: true }).click();
      await screen('me').getByRole('button', { name: /^短信/ }).click();
      await phone.getByRole('textbox', { name: '本机号码' }).fill(number);
      await phone.getByRole('button', { name: '保存' }).click();
      await screen('sms').getByText(`本机 ${number} 还没有收到短信`).waitFor();
      await phoneShot(shot);
      await phoneBack('sms');
      await screen('me').getByRole('button', { name: '微信', exact: true }).click();
      await screen('home')
        .getByRole('button', { name: /^福建税务/ })
        .click();
      await screen('chat').waitFor();
    }

    /**
     * ‹ → ⊕ → 扫一扫 → 扫描二维码 from the chat, aimed at the QR the portal shows, which must be the
     * newest live login QR. Ends back in the chat, where the account's reply arrives.
     */
    async function scanPortalQr(shot: string): Promise<void> {
      const shown = await portalTicket();
      await phoneBack('chat');
      await screen('home').getByRole('button', { name: '更多' }).click();
      await phone.getByRole('menuitem', { name: '扫一扫' }).click();
      // Aim at the PC's screen: tap the code the portal shows in the phone's list of live QR codes (the
      // phone keeps its earlier choice while that code is still live, even when a newer one exists).
      const code = screen('scan').locator(`#scan-codes [data-ticket="${shown}"]`);
      assert.ok((await code.innerText()).includes('最新的登录二维码'), 'the portal shows the newest login QR');
      await code.click();
      await screen('scan').locator(`#scan-codes .scan-code-selected[data-ticket="${shown}"]`).waitFor();
      const image = phone.locator('#scan-image[src*="showqrcode"]');
      assert.equal(
        new URL((await image.getAttribute('src'))!, live.url).searchParams.get('ticket'),
        shown,
        'the phone scans the QR the portal shows',
      );
      await imageLoaded(image);
      await phoneShot(shot);
      await phone.getByRole('button', { name: '扫描二维码' }).click();
      await screen('chat').waitFor();
    }

    /** Waits for one more message from 福建税务 containing `text` than there were `before`. */
    const accountMessages = (text: string) => chat().locator('.msg-account', { hasText: text });
    async function nextAccountMessage(text: string, before: number): Promise<Locator> {
      const message = accountMessages(text).nth(before);
      await message.waitFor();
      return message;
    }

    /** Opens 微办税 → `item` from the chat's menu; the page opens in the phone's in-app browser. */
    async function openMenuPage(item: string, menuShot: string, captchaFor: string): Promise<string> {
      await phone.getByRole('button', { name: '微办税' }).click();
      await phone.getByRole('menuitem', { name: item }).waitFor();
      await phoneShot(menuShot);
      return captchaAnswer(`/h5/captcha?for=${captchaFor}`, () => phone.getByRole('menuitem', { name: item }).click());
    }

    /** The sandbox answer of the captcha image `action` makes the phone's page load. */
    async function captchaAnswer(url: string, action: () => Promise<unknown>): Promise<string> {
      const [response] = await Promise.all([
        phone.waitForResponse((r) => r.url().includes(url) && r.status() === 200),
        action(),
      ]);
      const answer = (await response.allHeaders())['x-sandbox-captcha'];
      assert.ok(answer, 'the sandbox sends the captcha answer in X-Sandbox-Captcha');
      return answer;
    }

    /**
     * The SMS arrives while the in-app browser is open: its banner drops in, a tap shows the inbox
     * (the page stays loaded underneath), ‹ goes back to the page. Returns the 6-digit code.
     */
    async function readSmsFromBanner(bannerShot: string, inboxShot: string): Promise<string> {
      const banner = phone.locator('#sms-banner');
      await banner.waitFor({ state: 'visible' });
      await phoneShot(bannerShot);
      await banner.click();
      await screen('sms').waitFor();
      const text = await phone.locator('#sms-body .sms').last().innerText();
      const code = /验证码为(\d{6})/.exec(text)?.[1];
      assert.ok(code, text);
      await phoneShot(inboxShot);
      await phoneBack('sms');
      await screen('browser').waitFor();
      return code;
    }

    /** Taps the confirm link of the newest scan reply and 确定登录 on the page it opens. */
    async function confirmLoginOnPhone(confirmShot: string, doneShot: string, expectedName: string): Promise<void> {
      const reply = accountMessages('点击这里核对并确认登录').last();
      await reply.getByRole('link', { name: '点击这里核对并确认登录' }).click();
      await h5().getByRole('heading', { name: '福建省网上税务局登录确认' }).waitFor();
      const details = await h5().locator('.weui-cells').first().innerText();
      // The account is shown masked: 张* for 张三.
      assert.ok(details.includes(`${expectedName.slice(0, 1)}*`), details);
      assert.ok(details.includes('Windows'), `the PC's browser is shown: ${details}`);
      await phoneShot(confirmShot);
      await h5().getByRole('button', { name: '确定登录' }).click();
      await h5().getByRole('heading', { name: '登录成功' }).waitFor();
      await phoneShot(doneShot);
      await phone.getByRole('button', { name: '关闭' }).click();
      await screen('chat').waitFor();
    }

    // ---- 1 微信扫码登录 ----------------------------------------------------------------------------

    it('1.3.1–1.3.7: unbound scan → follow → 实名绑定 → scan again → 确定登录 → the portal is logged in', async () => {
      // 1.3.1 【登录】-【微信扫码登录】 shows the QR.
      await portal.goto(`${live.url}/portal/`);
      await portal.locator('.login-card').getByRole('heading', { name: '用户登录' }).waitFor();
      await portalShot('1.3.1-portal-front');
      await openPortalQrLogin();
      await portalShot('1.3.1-portal-qr');
      firstQr = await portalTicket();

      // 1.3.1 a WeChat user who does not follow 福建税务 yet opens 扫一扫.
      await phone.goto(`${live.url}/sandbox/phone`);
      await newPhoneUser(FIRST_WECHAT);
      await phoneShot('1.3.1-phone-new-user', true);
      await scanPortalQr('1.3.1-phone-scan');

      // 1.3.2 not bound: the scan made the user follow (subscribe with qrscene_); the reply says to bind first.
      const notBound = await nextAccountMessage('尚未绑定', 0);
      assert.ok(
        (await notBound.innerText()).includes('欢迎关注"福建税务"'),
        'the follow is welcomed in the same reply',
      );
      await chat().getByText('你扫描二维码关注了公众号').waitFor();
      await phone.locator('#chat-footer').waitFor();
      await phoneShot('1.3.2-phone-not-bound');
      await portal.getByText('请先完成实名绑定', { exact: true }).waitFor();
      assert.equal(await portal.locator('#qr-panel').getAttribute('data-state'), 'needs_binding');
      await portalShot('1.3.2-portal-needs-binding');

      // The SMS codes go to the account's mobile: this phone's number, for its 短信 inbox.
      await setPhoneNumber(taxpayer.phone, '1.3.2-phone-sms-number');

      // 1.3.3 微办税 → 实名绑定.
      const loginCaptcha = await openMenuPage('实名绑定', '1.3.3-phone-menu', 'bind-login');
      await h5().getByRole('heading', { name: '实名绑定' }).waitFor();
      await phone.locator('#browser-title').getByText('实名绑定 - 福建税务').waitFor();
      await phoneShot('1.3.3-phone-bind-page');

      // 1.3.4 登录账号, 登录密码, 验证码 → 登录.
      await h5().getByLabel('登录账号').fill(taxpayer.idNumber);
      await h5().getByLabel('登录密码').fill(taxpayer.password);
      await h5().getByLabel('验证码', { exact: true }).fill(loginCaptcha);
      await phoneShot('1.3.4-phone-bind-login-filled');
      await h5().getByRole('button', { name: '登录' }).click();

      // 1.3.5 手机号码 → 获取验证码 (an image captcha first) → the SMS → 短信验证码 → 确定绑定.
      await h5().getByLabel('手机号码').waitFor();
      await h5().getByLabel('手机号码').fill(taxpayer.phone);
      await phoneShot('1.3.5-phone-bind-phone');
      const smsCaptcha = await captchaAnswer('/h5/captcha?for=bind-sms', () =>
        h5().getByRole('button', { name: '获取验证码' }).click(),
      );
      await h5().getByRole('heading', { name: '获取短信验证码' }).waitFor();
      await h5().getByLabel('图形验证码').fill(smsCaptcha);
      await phoneShot('1.3.5-phone-sms-captcha');
      await h5().getByRole('button', { name: '发送验证码' }).click();
      await h5()
        .getByText(/验证码已发送至/)
        .waitFor();
      const code = await readSmsFromBanner('1.3.5-phone-sms-banner', '1.3.5-phone-sms-inbox');
      await h5().getByLabel('短信验证码').fill(code);
      await phoneShot('1.3.5-phone-sms-filled');
      await h5().getByRole('button', { name: '确定绑定' }).click();

      // 1.3.6 绑定成功, and the account says so in the chat.
      await h5().getByRole('heading', { name: '绑定成功' }).waitFor();
      await phoneShot('1.3.6-phone-bound');
      await phone.getByRole('button', { name: '关闭' }).click();
      await nextAccountMessage('绑定成功！', 0);
      await phoneShot('1.3.6-phone-bound-message');

      // 1.3.7 scan again: the same QR works now that the WeChat is bound.
      assert.notEqual(await portal.locator('#qr-panel').getAttribute('data-state'), 'expired', 'the QR is still live');
      await scanPortalQr('1.3.7-phone-scan-again');
      await nextAccountMessage('点击这里核对并确认登录', 0);
      await phoneShot('1.3.7-phone-confirm-link');
      await portal.getByText('已扫码，请在手机上确认').waitFor();
      await portalShot('1.3.7-portal-scanned');
      await confirmLoginOnPhone('1.3.7-phone-confirm-page', '1.3.7-phone-confirmed', '张三');
      await portalLoggedInAs('张三');
      await portalShot('1.3.7-portal-logged-in');
      await portal.locator('.login-card').getByRole('link', { name: '个人进入' }).click();
      await portal.waitForURL(/\/portal\/home$/);
      assert.ok((await portal.locator('.info-table').innerText()).includes('微信扫码登录'));
      await portalShot('1.3.7-portal-personal-info');
    });

    // ---- 3 实名注册 --------------------------------------------------------------------------------

    it('3.3.1–3.3.2: a new WeChat user follows, 实名注册 with an SMS code, then scan-login works at once', async () => {
      // 3.3.1 another person: a new WeChat user who follows 福建税务.
      await phone.locator('#screen-chat').getByRole('button', { name: '返回' }).click();
      await screen('home').getByRole('button', { name: '更多' }).click();
      await phone.getByRole('menuitem', { name: '切换用户' }).click();
      await newPhoneUser(SECOND_WECHAT);
      await phone.getByRole('button', { name: '关注公众号' }).click();
      await nextAccountMessage('欢迎关注"福建税务"', 0);
      await phoneShot('3.3.1-phone-followed');
      await setPhoneNumber(registrant.phone, '3.3.1-phone-sms-number');

      // 3.3.2 微办税 → 实名注册: the form, 获取验证码 (the image captcha is on the form), the SMS, 注册.
      const captcha = await openMenuPage('实名注册', '3.3.2-phone-menu', 'register');
      await h5().getByRole('heading', { name: '实名注册' }).waitFor();
      await h5().getByLabel('姓名').fill(registrant.realName);
      await h5().getByLabel('身份证号码').fill(registrant.idNumber);
      await h5().getByLabel('手机号码').fill(registrant.phone);
      await h5().getByLabel('验证码', { exact: true }).fill(captcha);
      await phoneShot('3.3.2-phone-register-form');
      await h5().getByRole('button', { name: '获取验证码' }).click();
      await h5()
        .getByText(/验证码已发送至/)
        .waitFor();
      assert.equal(await h5().getByLabel('身份证号码').inputValue(), registrant.idNumber, 'the form keeps its values');
      const code = await readSmsFromBanner('3.3.2-phone-sms-banner', '3.3.2-phone-sms-inbox');
      await h5().getByLabel('短信验证码').fill(code);
      await h5().getByLabel('登录密码').fill(registrant.password);
      await h5().getByLabel('确认密码').fill(registrant.password);
      await phoneShot('3.3.2-phone-register-filled');
      await h5().getByRole('button', { name: '注册', exact: true }).click();
      await h5().getByRole('heading', { name: '注册成功' }).waitFor();
      const preview = await h5().locator('.account-preview').innerText();
      const maskedId = `${registrant.idNumber.slice(0, 3)}***********${registrant.idNumber.slice(-4)}`;
      assert.ok(
        preview.includes(maskedId) && preview.includes(registrant.realName),
        `the login name is the ID number (masked): ${preview}`,
      );
      await phoneShot('3.3.2-phone-registered');
      await phone.getByRole('button', { name: '关闭' }).click();
      await nextAccountMessage('实名注册成功！', 0);
      await phoneShot('3.3.2-phone-registered-message');

      // 3.3.2 实名注册后即已完成微信绑定: scan-login on the portal at once. 1.3's ticket ended long enough
      // ago (the quiet period, skipped on the service's clock) for its scene to serve this login.
      clock.skip((live.deps.config.loginQr.quietSeconds + 1) * 1000);
      await portalLogOut();
      await openPortalQrLogin();
      assert.equal(await portalTicket(), firstQr, "the portal shows 1.3's QR again: a recycled scene, no new QR");
      await portalShot('3.3.2-portal-qr');
      await scanPortalQr('3.3.2-phone-scan');
      await nextAccountMessage('点击这里核对并确认登录', 0);
      await portal.getByText('已扫码，请在手机上确认').waitFor();
      await confirmLoginOnPhone('3.3.2-phone-confirm-page', '3.3.2-phone-confirmed', registrant.realName);
      await portalLoggedInAs(registrant.realName);
      await portalShot('3.3.2-portal-logged-in');
    });

    // ---- 2 微信解除绑定 ------------------------------------------------------------------------------

    it('2.3.1–2.3.2.2: 实名用户登录 → 个人进入 → 设置 → 微信解绑 → 解绑 → 取消, then 确定 → the next scan is refused', async () => {
      // 2.3.1 实名用户登录 with 张三's account.
      await portalLogOut();
      const [captcha] = await Promise.all([
        portal.waitForResponse((r) => r.url().includes('/portal/captcha') && r.status() === 200),
        portal.locator('.topbar').getByRole('link', { name: '实名用户登录' }).click(),
      ]);
      const answer = (await captcha.allHeaders())['x-sandbox-captcha'];
      assert.ok(answer);
      await portal.getByRole('tab', { name: '实名用户登录', selected: true }).waitFor();
      await portal.getByLabel('登录账号').fill(taxpayer.idNumber);
      await portal.getByLabel('登录密码').fill(taxpayer.password);
      await portal.getByLabel('验证码').fill(answer);
      await portalShot('2.3.1-portal-password-login');
      await portal.getByRole('button', { name: '登　录' }).click();
      await portalLoggedInAs('张三');
      await portal.locator('.login-card').getByRole('link', { name: '个人进入' }).click();
      await portal.waitForURL(/\/portal\/home$/);
      assert.ok((await portal.locator('.info-table').innerText()).includes('实名用户登录'));
      await portalShot('2.3.1-portal-personal-info');

      // 2.3.2.1 【设置】 → 用户管理 → 【微信解绑】.
      await portal.locator('.panel-head').getByRole('link', { name: '设置' }).click();
      await portal.getByRole('heading', { name: '用户管理' }).waitFor();
      await portalShot('2.3.2.1-portal-user-management');
      await portal
        .locator('.manage-grid')
        .getByRole('link', { name: /微信解绑/ })
        .click();
      await portal.waitForURL(/\/portal\/settings\/wechat$/);
      const rows = portal.locator('#binding-table tbody tr[data-binding-id]');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 1, 'the WeChat bound in 1.3');
      await portalShot('2.3.2.1-portal-bindings');

      // 2.3.2.2 【解绑】 → 确认解绑该微信绑定关系? → 取消 keeps it.
      const dialog = portal.locator('#unbind-dialog');
      await rows.first().getByRole('link', { name: '解绑' }).click();
      await dialog.getByText('确认解绑该微信绑定关系?').waitFor();
      await portalShot('2.3.2.2-portal-confirm-dialog');
      await dialog.getByRole('button', { name: '取消' }).click();
      await dialog.waitFor({ state: 'hidden' });
      // Still there when the list is loaded again.
      await portal.reload();
      await rows.first().waitFor();
      assert.equal(await rows.count(), 1, '取消 keeps the binding');
      await portalShot('2.3.2.2-portal-cancelled');

      // 2.3.2.2 【解绑】 → 确定 removes it; the list updates.
      await rows.first().getByRole('link', { name: '解绑' }).click();
      await dialog.getByText('确认解绑该微信绑定关系?').waitFor();
      await dialog.getByRole('button', { name: '确定' }).click();
      await portal.getByText(/解绑成功/).waitFor();
      assert.equal(await rows.count(), 0);
      await portal.locator('#binding-table').getByText('本账号当前没有绑定微信', { exact: false }).waitFor();
      await portalShot('2.3.2.2-portal-unbound');

      // 说明: the unbound WeChat can no longer scan-login. Log out, 微信扫码登录, and the first WeChat scans.
      await portalLogOut();
      await openPortalQrLogin();
      assert.notEqual(await portalTicket(), firstQr, "3.3's scene is still resting: a QR made for this login");
      await portalShot('2.3.2.2-portal-qr');
      await phoneBack('chat');
      await screen('home').getByRole('button', { name: '更多' }).click();
      await phone.getByRole('menuitem', { name: '切换用户' }).click();
      await screen('users').locator('.user-row', { hasText: FIRST_WECHAT }).click();
      await screen('chat').waitFor();
      // The account told this WeChat about the unbinding (a customer-service message).
      await nextAccountMessage('解除绑定', 0);
      const refusedBefore = await accountMessages('尚未绑定').count();
      await phoneShot('2.3.2.2-phone-unbound-message');
      await scanPortalQr('2.3.2.2-phone-scan');
      await nextAccountMessage('尚未绑定', refusedBefore);
      await phoneShot('2.3.2.2-phone-refused');
      await portal.getByText('请先完成实名绑定', { exact: true }).waitFor();
      assert.equal(await portal.locator('#qr-panel').getAttribute('data-state'), 'needs_binding');
      await portalShot('2.3.2.2-portal-refused');
    });
  });
