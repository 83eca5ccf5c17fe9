import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { SIMULATED_USER_COOKIE } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount } from '../support/accountFixtures';
import { launchBrowser, phoneContext, screenshotPath } from '../support/browser';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';

describe('binding: 实名绑定 in a phone-sized Chromium with a WeChat user agent', () => {
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

  /** Waits for the captcha image the page loads and returns the sandbox answer it carried. */
  async function captchaOf(page: Page, reload: () => Promise<unknown>): Promise<string> {
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes('/h5/captcha')), reload()]);
    return (await response.allHeaders())['x-sandbox-captcha']!;
  }

  it('binds a WeChat to an existing account exactly as the seed describes', async () => {
    const taxpayer = await createTestAccount(live.deps, { realName: '林小税' });
    const wechatUser = live.deps.simulator!.createUser('林小税的微信');
    const context = await phoneContext(browser);
    await context.addCookies([{ name: SIMULATED_USER_COOKIE, value: wechatUser.openid, url: live.url }]);
    const page = await context.newPage();

    // 1.3.3–1.3.4: 微办税 → 实名绑定 opens the page through WeChat OAuth.
    const captcha1 = await captchaOf(page, () => page.goto(`${live.url}/h5/bind`));
    await assert.doesNotReject(page.getByRole('heading', { name: '实名绑定' }).waitFor());
    await page.screenshot({ path: screenshotPath('bind-1-login'), fullPage: true });
    await page.getByLabel('登录账号').fill(taxpayer.idNumber);
    await page.getByLabel('登录密码').fill(taxpayer.password);
    await page.getByLabel('验证码').fill(captcha1);
    await page.getByRole('button', { name: '登录' }).click();

    // 1.3.5: 手机号码 + 短信验证码 (获取验证码 asks for an image captcha first).
    await page.getByLabel('手机号码').waitFor();
    await page.getByLabel('手机号码').fill(taxpayer.phone);
    await page.screenshot({ path: screenshotPath('bind-2-phone'), fullPage: true });
    const captcha2 = await captchaOf(page, () => page.getByRole('button', { name: '获取验证码' }).click());
    await page.screenshot({ path: screenshotPath('bind-2b-sms-captcha'), fullPage: true });
    await page.getByLabel('图形验证码').fill(captcha2);
    await page.getByRole('button', { name: '发送验证码' }).click();
    await page.getByText(/验证码已发送至/).waitFor();
    const inbox = (await (await fetch(`${live.url}/sandbox/sms?phone=${taxpayer.phone}`)).json()) as {
      messages: { code: string }[];
    };
    const code = inbox.messages.at(-1)!.code;
    await page.getByLabel('短信验证码').fill(code);
    await page.screenshot({ path: screenshotPath('bind-3-sms-filled'), fullPage: true });
    await page.getByRole('button', { name: '确定绑定' }).click();

    // 1.3.6: 绑定成功.
    await page.getByRole('heading', { name: '绑定成功' }).waitFor();
    await page.screenshot({ path: screenshotPath('bind-4-success'), fullPage: true });
    const binding = await live.deps.bindings.findByOpenid(wechatUser.openid);
    assert.equal(binding?.accountId, taxpayer.account.id);
    await context.close();
  });

  it("starts again at 登录, saying why, after the 4th phone that is not the account's", async () => {
    const taxpayer = await createTestAccount(live.deps, { realName: '王小税' });
    const wechatUser = live.deps.simulator!.createUser('王小税的微信');
    const context = await phoneContext(browser);
    await context.addCookies([{ name: SIMULATED_USER_COOKIE, value: wechatUser.openid, url: live.url }]);
    const page = await context.newPage();
    const captcha = await captchaOf(page, () => page.goto(`${live.url}/h5/bind`));
    await page.getByLabel('登录账号').fill(taxpayer.idNumber);
    await page.getByLabel('登录密码').fill(taxpayer.password);
    await page.getByLabel('验证码').fill(captcha);
    await page.getByRole('button', { name: '登录' }).click();
    for (let i = 0; i < 4; i++) {
      await page.getByLabel('手机号码').fill(`1390000000${i}`);
      await page.getByRole('button', { name: '获取验证码' }).click();
      await page.waitForLoadState();
    }
    await page.getByText(/手机号码多次与账号预留的手机号码不一致，请 \d+ 分钟后重新登录并绑定/).waitFor();
    await assert.doesNotReject(page.getByLabel('登录密码').waitFor());
    await page.screenshot({ path: screenshotPath('bind-5-phone-mismatches'), fullPage: true });
    await context.close();
  });
});
