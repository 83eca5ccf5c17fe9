import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshotPath } from '../../support/browser';
import { resetState, startLiveApp, type TestApp } from '../../support/testApp';
import { testEnvironment } from '../../support/testEnv';

const env = testEnvironment();

describe('sandbox/phone: the phone page in Chromium at desktop size', () => {
  let live: TestApp & { url: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    live = await startLiveApp();
    await resetState(live.deps);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    page = await context.newPage();
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await live?.close();
  });

  const phone = () => page.locator('.phone-screen');
  const chat = () => page.locator('#chat-body');

  it('creates a user, follows, opens 实名绑定 inside the phone, chats and scans a login QR', async () => {
    await page.goto(`${live.url}/sandbox/phone`);
    await page.getByRole('heading', { name: '选择微信用户' }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-1-choose-user') });

    await page.getByRole('textbox', { name: '昵称' }).fill('林小税');
    await page.getByRole('button', { name: '新建用户' }).click();
    await phone().getByRole('heading', { name: '福建税务' }).waitFor();
    const cookies = await context.cookies(live.url);
    const openid = cookies.find((cookie) => cookie.name === 'wxsim_openid')?.value;
    assert.ok(
      openid && live.deps.simulator!.users().some((user) => user.openid === openid && user.nickname === '林小税'),
    );

    await page.getByRole('button', { name: '关注公众号' }).click();
    await chat().getByText('欢迎关注"福建税务"', { exact: false }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-2-followed') });

    // 微办税 → 实名绑定: the VIEW push, and the H5 page through the simulated OAuth inside the phone.
    await page.getByRole('button', { name: '微办税' }).click();
    await page.getByRole('menuitem', { name: '实名绑定' }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-3-menu') });
    await page.getByRole('menuitem', { name: '实名绑定' }).click();
    const h5 = page.frameLocator('#browser-frame');
    await h5.getByRole('heading', { name: '实名绑定' }).waitFor();
    await h5.getByRole('button', { name: '登录' }).waitFor();
    await page.locator('#browser-title').getByText('实名绑定 - 福建税务').waitFor();
    await page.screenshot({ path: screenshotPath('phone-4-bind-page') });
    await page.getByRole('button', { name: '关闭' }).click();

    await page.getByRole('button', { name: '切换到键盘' }).click();
    await page.getByRole('textbox', { name: '消息' }).fill('你好');
    await page.getByRole('button', { name: '发送' }).click();
    await chat().locator('.msg-user .bubble', { hasText: '你好' }).waitFor();
    await chat().getByText('请回复以下关键词获取帮助', { exact: false }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-5-help-reply') });

    // A login QR as a portal would show it, then 扫一扫 from the chat list's ⊕ menu.
    const created = (await fetch(`${live.url}/api/login/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.PORTAL_API_KEYS}`, 'content-type': 'application/json' },
      body: '{}',
    }).then((r) => r.json())) as { ticketId: string };
    await phone().getByRole('button', { name: '返回' }).click();
    await page.getByRole('button', { name: '更多' }).click();
    await page.getByRole('menuitem', { name: '扫一扫' }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-6-chat-list') });
    await page.getByRole('menuitem', { name: '扫一扫' }).click();
    await page.locator('#scan-image[src*="showqrcode"]').waitFor();
    await page.screenshot({ path: screenshotPath('phone-7-scan') });
    await page.getByRole('button', { name: '扫描二维码' }).click();
    await chat().getByText('尚未绑定', { exact: false }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-8-scan-reply') });
    const status = (await fetch(`${live.url}/api/login/tickets/${created.ticketId}`).then((r) => r.json())) as {
      status: string;
    };
    assert.equal(status.status, 'needs_binding');

    // The reply's 实名绑定 link opens inside the phone too.
    await chat().locator('.msg-account').last().getByRole('link', { name: '实名绑定' }).click();
    await h5.getByRole('heading', { name: '实名绑定' }).waitFor();
    await page.getByRole('button', { name: '关闭' }).click();
  });

  it('shows the SMS the phone number received', async () => {
    await phone().getByRole('button', { name: '返回' }).click();
    await page.getByRole('button', { name: '我', exact: true }).click();
    await page.locator('#me-nickname', { hasText: '林小税' }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-9-me') });
    await page.getByRole('button', { name: /^短信/ }).click();
    await page.getByRole('textbox', { name: '本机号码' }).fill('13955556666');
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('还没有收到短信', { exact: false }).waitFor();
    await live.deps.smsCodes.send({
      phone: '13955556666',
      purpose: 'bind',
      ip: '127.0.0.1',
      requester: 'o-sms-tester',
    });
    const [sms] = live.deps.smsOutbox!.forPhone('13955556666');
    await page.locator('#sms-body .sms', { hasText: sms!.code! }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-10-sms') });

    // 实名注册 with a number that already has an account: the notice instead of a code.
    await live.deps.smsCodes.send({
      phone: '13955556666',
      purpose: 'register',
      ip: '127.0.0.1',
      requester: 'o-sms-tester',
      content: 'account_exists',
    });
    await page.locator('#sms-body .sms', { hasText: '该手机号码已注册实名账号' }).waitFor();
    await page.screenshot({ path: screenshotPath('phone-11-sms-account-exists') });
  });
});
