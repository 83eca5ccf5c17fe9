import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { SIMULATED_USER_COOKIE } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { launchBrowser, phoneContext, screenshotPath } from '../support/browser';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/**
 * 忘记密码 and 修改密码 in Chromium: a taxpayer bound to no WeChat forgets the password, resets it on
 * the phone through the SMS code, binds with the new one and scan-logs in to the portal; the old
 * password fails and the portal session opened with it is gone. Then the portal's own pages:
 * 修改密码 in 设置, and 忘记密码 from 实名用户登录.
 */
describe('password: 忘记密码 and 修改密码 in a browser', () => {
  let live: TestApp & { url: string };
  let browser: Browser;
  let desktop: BrowserContext;
  let portal: Page;
  let taxpayer: TestAccount;
  const driver = new PushDriver({
    token: env.WECHAT_TOKEN!,
    appId: env.WECHAT_APPID!,
    encodingAesKey: env.WECHAT_ENCODING_AES_KEY!,
    mode: 'safe',
  });
  const portalShot = (name: string) =>
    portal.screenshot({ path: screenshotPath(`password-portal-${name}`), fullPage: true });

  before(async () => {
    live = await startLiveApp({ env: { PORTAL_DEMO: '1' } });
    await resetState(live.deps);
    browser = await launchBrowser();
    desktop = await browser.newContext({
      viewport: { width: 1366, height: 900 },
      userAgent: DESKTOP_UA,
      locale: 'zh-CN',
    });
    portal = await desktop.newPage();
    taxpayer = await createTestAccount(live.deps, { realName: '郑忘记' });
  });
  after(async () => {
    await browser?.close();
    await live?.close();
  });

  async function latestCode(phone: string): Promise<string> {
    await live.deps.passwords.idle();
    const inbox = (await (await fetch(`${live.url}/sandbox/sms?phone=${phone}`)).json()) as {
      messages: { code: string }[];
    };
    const code = inbox.messages.at(-1)?.code;
    assert.ok(code, `an SMS to ${phone}`);
    return code;
  }

  /** Waits for the captcha image an action loads and returns the sandbox answer it carried. */
  async function captchaOf(page: Page, path: string, action: () => Promise<unknown>): Promise<string> {
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes(path)), action()]);
    return (await response.allHeaders())['x-sandbox-captcha']!;
  }

  async function portalPasswordLogin(password: string) {
    await portal.goto(`${live.url}/portal/login?tab=password`);
    await portal.getByLabel('登录账号').fill(taxpayer.idNumber);
    await portal.getByLabel('登录密码').fill(password);
    const answer = await captchaOf(portal, '/portal/captcha', () => portal.locator('.captcha-img').click());
    await portal.getByLabel('验证码').fill(answer);
    await portal.getByRole('button', { name: '登　录' }).click();
  }

  it('resets on the phone through the SMS code, binds with the new password and scan-logs in; the old password and its session are gone', async () => {
    const oldPassword = taxpayer.password;
    const newPassword = 'Wang-ji-2026!';
    // An existing portal session, opened with the old password.
    await portalPasswordLogin(oldPassword);
    await portal.waitForURL(`${live.url}/portal/`);
    await portal.goto(`${live.url}/portal/home`);
    await portal.locator('h2', { hasText: '个人信息管理' }).waitFor();

    const wechatUser = live.deps.simulator!.createUser('郑忘记的微信');
    const phone = await phoneContext(browser);
    await phone.addCookies([{ name: SIMULATED_USER_COOKIE, value: wechatUser.openid, url: live.url }]);
    const page = await phone.newPage();
    const shot = (name: string) => page.screenshot({ path: screenshotPath(`password-h5-${name}`), fullPage: true });

    await page.goto(`${live.url}/h5/bind`);
    await page.getByRole('heading', { name: '实名绑定' }).waitFor();
    await shot('0-bind-login-link');
    const captcha1 = await captchaOf(page, '/h5/captcha', () => page.getByRole('link', { name: '忘记密码？' }).click());
    await page.getByRole('heading', { name: '忘记密码' }).waitFor();
    assert.ok((await page.content()).includes('手机号码已变更？请携带身份证件到办税服务厅办理，或拨打 12366'));
    await page.getByLabel('姓名').fill('郑忘记');
    await page.getByLabel('身份证号码').fill(taxpayer.idNumber);
    await page.getByLabel('验证码').fill(captcha1);
    await shot('1-identity');
    await page.getByRole('button', { name: '获取短信验证码' }).click();
    const masked = `${taxpayer.phone.slice(0, 3)}****${taxpayer.phone.slice(-4)}`;
    await page.getByText(`验证码已发送至其预留手机号码 ${masked}`).waitFor();
    await page.getByLabel('短信验证码').fill(await latestCode(taxpayer.phone));
    await shot('2-code');
    await page.getByRole('button', { name: '下一步' }).click();
    await page.getByRole('heading', { name: '设置新密码' }).waitFor();
    await page.getByLabel('新密码').fill('weak');
    await page.getByLabel('确认密码').fill('weak');
    await page.getByRole('button', { name: '确定' }).click();
    await page.getByText('登录密码至少8位').waitFor();
    await shot('3-weak-password');
    await page.getByLabel('新密码').fill(newPassword);
    await page.getByLabel('确认密码').fill(newPassword);
    await page.getByRole('button', { name: '确定' }).click();
    await page.getByRole('heading', { name: '密码已重置' }).waitFor();
    await shot('4-done');

    // The portal session opened with the old password has ended.
    await portal.goto(`${live.url}/portal/home`);
    await portal.waitForURL(/\/portal\/login$/);

    // 实名绑定: the old password fails, the new one binds.
    const captcha2 = await captchaOf(page, '/h5/captcha', () => page.getByRole('link', { name: '实名绑定' }).click());
    await page.getByLabel('登录账号').fill(taxpayer.idNumber);
    await page.getByLabel('登录密码').fill(oldPassword);
    await page.getByLabel('验证码').fill(captcha2);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByText('登录账号或登录密码错误').waitFor();
    await shot('5-old-password-fails');
    const captcha3 = await captchaOf(page, '/h5/captcha', () => page.locator('.captcha-img').click());
    await page.getByLabel('登录密码').fill(newPassword);
    await page.getByLabel('验证码').fill(captcha3);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByLabel('手机号码').fill(taxpayer.phone);
    const captcha4 = await captchaOf(page, '/h5/captcha', () =>
      page.getByRole('button', { name: '获取验证码' }).click(),
    );
    await page.getByLabel('图形验证码').fill(captcha4);
    await page.getByRole('button', { name: '发送验证码' }).click();
    await page.getByText(/验证码已发送至/).waitFor();
    await page.getByLabel('短信验证码').fill(await latestCode(taxpayer.phone));
    await page.getByRole('button', { name: '确定绑定' }).click();
    await page.getByRole('heading', { name: '绑定成功' }).waitFor();

    // 微信扫码登录 with the WeChat just bound.
    await portal.goto(`${live.url}/portal/login?tab=wechat`);
    const src = await portal.locator('#qr-image').getAttribute('src');
    const qr = live.deps.simulator!.qrByTicket(new URL(src!).searchParams.get('ticket')!);
    const pushed = await driver.post(
      `${live.url}/wechat`,
      driver.sign(driver.event(wechatUser.openid, 'SCAN', qr!.sceneStr)),
    );
    const link = /href="([^"]+)"/.exec((await driver.readReply(pushed.body))?.Content ?? '')?.[1];
    assert.ok(link, 'the scan reply links to the confirm page');
    await page.goto(link);
    await page.getByRole('button', { name: '确定登录' }).click();
    await page.getByRole('heading', { name: '登录成功' }).waitFor();
    // Back where the ended session was sent away from: 个人信息管理.
    await portal.waitForURL(`${live.url}/portal/home`);
    assert.ok((await portal.locator('.info-table').innerText()).includes('微信扫码登录'));
    assert.ok((await portal.locator('.info-table').innerText()).includes('郑忘记'));
    await phone.close();
    taxpayer.password = newPassword;
  });

  it('修改密码 on the portal: current + new twice; the session ends, the bound WeChat is told, the new password logs in', async () => {
    await portal.goto(`${live.url}/portal/settings`);
    await portal
      .locator('.manage-grid')
      .getByRole('link', { name: /修改密码/ })
      .click();
    await portal.waitForURL(/\/portal\/settings\/password$/);
    await portal.getByRole('heading', { name: '修改密码' }).waitFor();
    await portalShot('1-change');
    await portal.getByLabel('原密码').fill('Not-the-password-1');
    await portal.getByLabel('新密码').fill('Gai-mima-2026');
    await portal.getByLabel('确认密码').fill('Gai-mima-2026');
    await portal.getByRole('button', { name: '确认修改' }).click();
    await portal.getByText('原密码错误').waitFor();
    await portalShot('2-change-wrong');
    await portal.getByLabel('原密码').fill(taxpayer.password);
    await portal.getByLabel('新密码').fill('Gai-mima-2026');
    await portal.getByLabel('确认密码').fill('Gai-mima-2026');
    await portal.getByRole('button', { name: '确认修改' }).click();
    await portal.getByText('登录密码已修改，请使用新密码重新登录。').waitFor();
    await portalShot('3-changed');
    const told = live.deps.simulator!.outbox.some((m) => JSON.stringify(m.body).includes('修改'));
    assert.ok(told, 'the bound WeChat is told');
    await portal.goto(`${live.url}/portal/home`);
    await portal.waitForURL(/\/portal\/login$/);
    await portalPasswordLogin('Gai-mima-2026');
    await portal.waitForURL(`${live.url}/portal/home`);
    await portal.locator('.topbar').getByRole('button', { name: '退出' }).click();
    taxpayer.password = 'Gai-mima-2026';
  });

  it('忘记密码 on the portal, from 实名用户登录: identity + captcha, the code, new password twice', async () => {
    // Another taxpayer: the first one's phone had a recovery code less than a minute ago (resend gate).
    taxpayer = await createTestAccount(live.deps, { realName: '郑忘记' });
    await portal.goto(`${live.url}/portal/login?tab=password`);
    await portal.getByRole('link', { name: '忘记密码？' }).click();
    await portal.waitForURL(/\/portal\/password\/forgot$/);
    await portal.getByLabel('姓名').fill('郑忘记');
    await portal.getByLabel('身份证号码').fill(taxpayer.idNumber);
    const answer = await captchaOf(portal, '/portal/captcha', () => portal.locator('.captcha-img').click());
    await portal.getByLabel('验证码').fill(answer);
    await portalShot('4-forgot-identity');
    await portal.getByRole('button', { name: '获取短信验证码' }).click();
    await portal.getByText(/验证码已发送至其预留手机号码 \d{3}\*{4}\d{4}/).waitFor();
    await portal.getByLabel('短信验证码').fill('000000');
    await portal.getByRole('button', { name: '下一步' }).click();
    await portal.getByText('短信验证码错误或已失效').waitFor();
    await portal.getByLabel('短信验证码').fill(await latestCode(taxpayer.phone));
    await portalShot('5-forgot-code');
    await portal.getByRole('button', { name: '下一步' }).click();
    await portal.getByLabel('确认密码').waitFor();
    await portalShot('6-forgot-new-password');
    await portal.getByLabel('新密码').fill('Men-hu-2026!');
    await portal.getByLabel('确认密码').fill('Men-hu-2026!');
    await portal.getByRole('button', { name: '确　定' }).click();
    await portal.getByText('登录密码已重置，请使用新密码登录。').waitFor();
    await portalShot('7-forgot-done');
    await portalPasswordLogin('Men-hu-2026!');
    await portal.waitForURL(`${live.url}/portal/`);
  });
});
