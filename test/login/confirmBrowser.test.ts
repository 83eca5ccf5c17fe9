import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { SIMULATED_USER_COOKIE } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount } from '../support/accountFixtures';
import { launchBrowser, phoneContext, screenshotPath } from '../support/browser';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();

describe('login: the confirm page in a phone-sized Chromium with a WeChat user agent', () => {
  let live: TestApp & { url: string };
  let browser: Browser;

  before(async () => {
    live = await startLiveApp();
    await resetState(live.deps);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await live?.close();
  });

  it('shows who asks to log in and confirms with 确定登录', async () => {
    const taxpayer = await createTestAccount(live.deps, { realName: '陈税友' });
    const user = live.deps.simulator!.createUser('陈税友');
    await live.deps.db.getRepository(WechatBindingEntity).insert({
      id: randomUUID(),
      accountId: taxpayer.account.id,
      openid: user.openid,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(),
    });
    const created = (await fetch(`${live.url}/api/login/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.PORTAL_API_KEYS}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientIp: '198.51.100.23',
        userAgent:
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      }),
    }).then((r) => r.json())) as { ticketId: string; qrContent: string };
    const scene = live.deps.simulator!.qrByUrl(created.qrContent)!.sceneStr!;
    const driver = new PushDriver({
      token: env.WECHAT_TOKEN!,
      appId: env.WECHAT_APPID!,
      encodingAesKey: env.WECHAT_ENCODING_AES_KEY!,
      mode: 'safe',
    });
    const pushed = await driver.post(`${live.url}/wechat`, driver.sign(driver.event(user.openid, 'SCAN', scene)));
    const link = /href="([^"]+)"/.exec((await driver.readReply(pushed.body))!.Content!)![1]!;

    const context = await phoneContext(browser);
    await context.addCookies([{ name: SIMULATED_USER_COOKIE, value: user.openid, url: live.url }]);
    const page = await context.newPage();
    await page.goto(link);
    await page.getByRole('heading', { name: '福建省网上税务局登录确认' }).waitFor();
    const text = await page.locator('body').innerText();
    for (const expected of ['198.51.100.23', 'Windows 上的 Edge 浏览器', '陈**', '请确认是您本人'])
      assert.ok(text.includes(expected), expected);
    await page.screenshot({ path: screenshotPath('login-1-confirm'), fullPage: true });
    await page.getByRole('button', { name: '确定登录' }).click();
    await page.getByRole('heading', { name: '登录成功' }).waitFor();
    await page.screenshot({ path: screenshotPath('login-2-confirmed'), fullPage: true });
    const status = (await fetch(`${live.url}/api/login/tickets/${created.ticketId}`).then((r) => r.json())) as {
      status: string;
    };
    assert.equal(status.status, 'confirmed');
    await context.close();
  });
});
