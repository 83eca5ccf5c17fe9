import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { SIMULATED_USER_COOKIE, type SimulatedUser } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { imageLoaded, launchBrowser, phoneContext, screenshotPath } from '../support/browser';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/**
 * Seed 2.3.1–2.3.2.2 in a desktop Chromium: log into the reference portal by 微信扫码登录 (the test
 * plays WeChat: a SCAN push, then 确定登录 on a phone-sized page) and by 实名用户登录, then 个人进入 →
 * 设置 → 微信解绑 → 解绑 → 取消 keeps the binding, 解绑 → 确定 removes it; the unbound WeChat's next
 * scan is refused (请先完成实名绑定).
 */
describe('portal: seed 2.3.1–2.3.2.2 in a desktop browser', () => {
  let live: TestApp & { url: string };
  let browser: Browser;
  let desktop: BrowserContext;
  let page: Page;
  let taxpayer: TestAccount;
  let wechat: SimulatedUser;
  let bindingId: string;
  const driver = new PushDriver({
    token: env.WECHAT_TOKEN!,
    appId: env.WECHAT_APPID!,
    encodingAesKey: env.WECHAT_ENCODING_AES_KEY!,
    mode: 'safe',
  });
  const bindings = () => live.deps.db.getRepository(WechatBindingEntity);
  const shot = (name: string) => page.screenshot({ path: screenshotPath(`portal-${name}`), fullPage: true });

  before(async () => {
    live = await startLiveApp({ env: { PORTAL_DEMO: '1' } });
    await resetState(live.deps);
    browser = await launchBrowser();
    desktop = await browser.newContext({
      viewport: { width: 1366, height: 900 },
      userAgent: DESKTOP_UA,
      locale: 'zh-CN',
    });
    page = await desktop.newPage();
    taxpayer = await createTestAccount(live.deps, { realName: '陈税友' });
    wechat = live.deps.simulator!.createUser('陈税友的微信');
    bindingId = randomUUID();
    await bindings().insert({
      id: bindingId,
      accountId: taxpayer.account.id,
      openid: wechat.openid,
      unionid: null,
      nickname: '陈税友的微信',
      subscribed: true,
      boundAt: new Date(),
    });
  });
  after(async () => {
    await browser?.close();
    await live?.close();
  });

  /** The QR the page shows, scanned by `user` (a SCAN push as WeChat sends it); returns the reply text. */
  async function scanShownQr(user: SimulatedUser): Promise<string> {
    const src = await page.locator('#qr-image').getAttribute('src');
    assert.ok(src, 'the page shows a QR image');
    const qr = live.deps.simulator!.qrByTicket(new URL(src).searchParams.get('ticket')!);
    assert.ok(qr?.sceneStr, 'the image is a QR code the simulator made');
    const pushed = await driver.post(`${live.url}/wechat`, driver.sign(driver.event(user.openid, 'SCAN', qr.sceneStr)));
    assert.equal(pushed.status, 200);
    return (await driver.readReply(pushed.body))?.Content ?? '';
  }

  const statusText = () => page.locator('#qr-status-text');
  // Evaluated in the page (a string: this project's type-check has no DOM library).
  const qrImageLoaded = () => imageLoaded(page.locator('#qr-image'));

  it('2.3.1 微信扫码登录: the page shows the QR, follows the scan live and logs in by itself after 确定登录', async () => {
    await page.goto(`${live.url}/portal/`);
    await page.getByRole('heading', { name: '用户登录' }).waitFor();
    await shot('1-front');
    await page.getByRole('link', { name: '微信扫码登录' }).click();
    await page.waitForURL(/\/portal\/login\?tab=wechat$/);
    await page.locator('#qr-image').waitFor();
    assert.equal(await statusText().innerText(), '请使用微信扫一扫');
    await qrImageLoaded();
    assert.ok(!(await page.getByText('刷新状态').isVisible()), 'the no-script link is hidden when the script runs');
    await shot('2-login-qr');

    const reply = await scanShownQr(wechat);
    const link = /href="([^"]+)"/.exec(reply)?.[1];
    assert.ok(link, reply);
    await page.getByText('已扫码，请在手机上确认').waitFor();
    await shot('3-scanned');

    const phone = await phoneContext(browser);
    await phone.addCookies([{ name: SIMULATED_USER_COOKIE, value: wechat.openid, url: live.url }]);
    const phonePage = await phone.newPage();
    await phonePage.goto(link);
    await phonePage.getByRole('button', { name: '确定登录' }).click();
    await phonePage.getByRole('heading', { name: '登录成功' }).waitFor();
    await phone.close();

    // No click on the desktop: the long-poll sees `confirmed` and the page redeems and logs in.
    await page.waitForURL(`${live.url}/portal/`);
    await page.getByRole('link', { name: '个人进入' }).first().waitFor();
    assert.ok((await page.locator('.login-card').innerText()).includes('陈税友'));
    await shot('4-logged-in-wechat');

    await page.locator('.login-card').getByRole('link', { name: '个人进入' }).click();
    await page.waitForURL(/\/portal\/home$/);
    const info = await page.locator('.info-table').innerText();
    assert.ok(info.includes(`${taxpayer.idNumber.slice(0, 3)}***********${taxpayer.idNumber.slice(-4)}`), info);
    assert.ok(info.includes(`${taxpayer.phone.slice(0, 3)}****${taxpayer.phone.slice(-4)}`), info);
    assert.ok(info.includes('微信扫码登录'));
    await shot('5-personal-info');

    await page.locator('.topbar').getByRole('button', { name: '退出' }).click();
    await page.getByText('您已安全退出福建省网上税务局。').waitFor();
  });

  it('2.3.1 实名用户登录: 登录账号, 登录密码, 验证码; a wrong password is shown clearly', async () => {
    await page.goto(`${live.url}/portal/login`);
    await page.getByRole('tab', { name: '实名用户登录' }).click();
    assert.ok(page.url().endsWith('/portal/login?tab=password'));
    assert.ok(await page.getByLabel('登录账号').isVisible());
    assert.ok(!(await page.locator('#qr-panel').isVisible()), 'the tab switched without a reload');

    const answerOf = async () => {
      const loaded = page.waitForResponse((r) => r.url().includes('/portal/captcha'));
      await page.locator('.captcha-img').click();
      return (await loaded).headers()['x-sandbox-captcha']!;
    };
    await page.getByLabel('登录账号').fill(taxpayer.idNumber);
    await page.getByLabel('登录密码').fill('Not-the-password-1');
    await page.getByLabel('验证码').fill(await answerOf());
    await page.getByRole('button', { name: '登　录' }).click();
    await page.getByText('登录账号或登录密码错误，请重新输入。').waitFor();
    assert.equal(await page.getByLabel('登录账号').inputValue(), taxpayer.idNumber);
    await shot('6-password-wrong');

    await page.getByLabel('登录密码').fill(taxpayer.password);
    await page.getByLabel('验证码').fill(await answerOf());
    await shot('7-password-filled');
    await page.getByRole('button', { name: '登　录' }).click();
    await page.waitForURL(`${live.url}/portal/`);
    await page.locator('.login-card').getByRole('link', { name: '个人进入' }).click();
    await page.waitForURL(/\/portal\/home$/);
    assert.ok((await page.locator('.info-table').innerText()).includes('实名用户登录'));
  });

  it('2.3.2 设置 → 微信解绑 → 解绑: 取消 keeps the binding, 确定 removes it and the list updates', async () => {
    await page.locator('.panel-head').getByRole('link', { name: '设置' }).click();
    await page.waitForURL(/\/portal\/settings$/);
    await page.getByRole('heading', { name: '用户管理' }).waitFor();
    await shot('8-user-management');
    await page
      .locator('.manage-grid')
      .getByRole('link', { name: /微信解绑/ })
      .click();
    await page.waitForURL(/\/portal\/settings\/wechat$/);
    const row = page.locator('#binding-table tbody tr[data-binding-id]');
    assert.equal(await row.count(), 1);
    const rowText = await row.innerText();
    assert.ok(rowText.includes('陈税友的微信'), rowText);
    assert.ok(rowText.includes(`${wechat.openid.slice(0, 6)}****${wechat.openid.slice(-4)}`), rowText);
    assert.match(rowText, /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
    await shot('9-bindings');

    const dialog = page.locator('#unbind-dialog');
    await row.getByRole('link', { name: '解绑' }).click();
    await dialog.waitFor({ state: 'visible' });
    assert.ok((await dialog.innerText()).includes('确认解绑该微信绑定关系?'));
    assert.ok(
      await dialog.evaluate((d) => (d as unknown as { open: boolean }).open && d.matches(':modal')),
      'a real modal dialog',
    );
    await shot('10-confirm-dialog');
    await dialog.getByRole('button', { name: '取消' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(page.url().endsWith('/portal/settings/wechat'));
    assert.equal(await row.count(), 1);
    assert.equal(await bindings().countBy({ id: bindingId }), 1, '取消 does not unbind');

    await row.getByRole('link', { name: '解绑' }).click();
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: '确定' }).click();
    await page.getByText(/解绑成功/).waitFor();
    assert.equal(await page.locator('#binding-table tbody tr[data-binding-id]').count(), 0, 'the list updated');
    assert.ok((await page.locator('#binding-table').innerText()).includes('本账号当前没有绑定微信'));
    assert.equal(await bindings().countBy({ id: bindingId }), 0, '确定 unbinds');
    await shot('11-unbound');
  });

  it("2.3.2.2 说明: after unbinding, that WeChat's scan is refused with 请先完成实名绑定", async () => {
    await page.locator('.topbar').getByRole('button', { name: '退出' }).click();
    await page.getByText('您已安全退出福建省网上税务局。').waitFor();
    await page.goto(`${live.url}/portal/login?tab=wechat`);
    await page.locator('#qr-image').waitFor();
    assert.equal(await statusText().innerText(), '请使用微信扫一扫');
    const reply = await scanShownQr(wechat);
    assert.match(reply, /尚未绑定/);
    await page.getByText('请先完成实名绑定', { exact: true }).waitFor();
    assert.equal(await page.locator('#qr-panel').getAttribute('data-state'), 'needs_binding');
    await shot('12-needs-binding');
  });

  it('shows 二维码已过期，点击刷新 when the phone cancels, and clicking gives a new QR', async () => {
    const other = await createTestAccount(live.deps, { realName: '黄取消' });
    const user = live.deps.simulator!.createUser('黄取消');
    await bindings().insert({
      id: randomUUID(),
      accountId: other.account.id,
      openid: user.openid,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(),
    });
    await page.reload();
    await page.locator('#qr-image').waitFor();
    const before = await page.locator('#qr-image').getAttribute('src');
    const reply = await scanShownQr(user);
    await page.getByText('已扫码，请在手机上确认').waitFor();
    const confirmToken = /c=([0-9a-f]+)/.exec(reply)![1]!;
    await live.deps.login.cancel(confirmToken, user.openid, { ip: '127.0.0.1', userAgent: 'phone' });
    await page.getByText('二维码已过期，点击刷新').waitFor();
    await shot('13-expired');
    await page.getByText('二维码已过期，点击刷新').click();
    await page.getByText('请使用微信扫一扫').waitFor();
    const after = await page.locator('#qr-image').getAttribute('src');
    assert.notEqual(after, before);
    await qrImageLoaded();
    // The new QR is live: a scan by the bound WeChat is followed again.
    await scanShownQr(user);
    await page.getByText('已扫码，请在手机上确认').waitFor();
  });

  it('works without script: the QR with 刷新状态, and 解绑 as a confirmation page', async () => {
    const plain = await browser.newContext({
      viewport: { width: 1366, height: 900 },
      userAgent: DESKTOP_UA,
      locale: 'zh-CN',
      javaScriptEnabled: false,
    });
    const noScript = await plain.newPage();
    await noScript.goto(`${live.url}/portal/login`);
    // A first visit has no session yet: no QR code until the browser asks for one (a form post).
    await noScript.screenshot({ path: screenshotPath('portal-14a-no-script-first-visit'), fullPage: true });
    await noScript.getByRole('button', { name: '点击获取二维码' }).click();
    await noScript.waitForURL(/\/portal\/login\?tab=wechat$/);
    const src = await noScript.locator('#qr-image').getAttribute('src');
    assert.ok(src?.includes('showqrcode'), 'the QR is shown');
    await noScript.getByRole('link', { name: '刷新状态' }).waitFor();
    await noScript.screenshot({ path: screenshotPath('portal-14-no-script-login'), fullPage: true });
    await noScript.getByRole('link', { name: '刷新状态' }).click();
    assert.equal(await noScript.locator('#qr-image').getAttribute('src'), src, '刷新状态 keeps the QR');
    assert.equal(await noScript.locator('#qr-status-text').innerText(), '请使用微信扫一扫');

    const other = await createTestAccount(live.deps, { realName: '周无脚本' });
    const id = randomUUID();
    await bindings().insert({
      id,
      accountId: other.account.id,
      openid: live.deps.simulator!.createUser('周').openid,
      unionid: null,
      nickname: '周的微信',
      subscribed: false,
      boundAt: new Date(),
    });
    const captcha = noScript.waitForResponse((r) => r.url().includes('/portal/captcha'));
    await noScript.getByRole('tab', { name: '实名用户登录' }).click();
    const answer = (await captcha).headers()['x-sandbox-captcha']!;
    await noScript.getByLabel('登录账号').fill(other.phone);
    await noScript.getByLabel('登录密码').fill(other.password);
    await noScript.getByLabel('验证码').fill(answer);
    await noScript.getByRole('button', { name: '登　录' }).click();
    await noScript.goto(`${live.url}/portal/settings/wechat`);
    await noScript.getByRole('link', { name: '解绑', exact: true }).click();
    await noScript.waitForURL(/\/portal\/settings\/wechat\/unbind\?id=/);
    await noScript.getByRole('heading', { name: '确认解绑该微信绑定关系?' }).waitFor();
    await noScript.screenshot({ path: screenshotPath('portal-15-no-script-confirm'), fullPage: true });
    await noScript.getByRole('link', { name: '取消' }).click();
    await noScript.waitForURL(/\/portal\/settings\/wechat$/);
    assert.equal(await bindings().countBy({ id }), 1);
    await noScript.getByRole('link', { name: '解绑', exact: true }).click();
    await noScript.getByRole('button', { name: '确定' }).click();
    await noScript.getByText(/解绑成功/).waitFor();
    assert.equal(await bindings().countBy({ id }), 0);
    await plain.close();
  });
});
