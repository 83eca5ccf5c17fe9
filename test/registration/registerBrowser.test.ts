import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { AccountEntity } from '../../src/accounts/Account';
import { SIMULATED_USER_COOKIE } from '../../src/sandbox/simulator/WeChatSimulator';
import { gb11643CheckCharacter, uniqueIdNumber, uniquePhone } from '../support/accountFixtures';
import { launchBrowser, phoneContext, screenshotPath } from '../support/browser';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';

describe('registration: 实名注册 in a phone-sized Chromium with a WeChat user agent', () => {
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
  async function captchaOf(page: Page, load: () => Promise<unknown>): Promise<string> {
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes('/h5/captcha')), load()]);
    return (await response.allHeaders())['x-sandbox-captcha']!;
  }

  /** The message shown under a field, found through the field's aria-describedby. */
  async function messageOf(page: Page, label: string): Promise<string> {
    const describedBy = await page.getByLabel(label, { exact: true }).getAttribute('aria-describedby');
    assert.ok(describedBy, `${label} has a message`);
    return (await page.locator(`#${describedBy}`).textContent())!.trim();
  }

  it('registers a new WeChat user, who ends up bound, walking the form as the seed describes', async () => {
    const wechatUser = live.deps.simulator!.createUser('新纳税人的微信');
    const context = await phoneContext(browser);
    await context.addCookies([{ name: SIMULATED_USER_COOKIE, value: wechatUser.openid, url: live.url }]);
    const page = await context.newPage();
    const idNumber = uniqueIdNumber({ endsWithX: true });
    const first17 = idNumber.slice(0, 17);
    const badCheck = first17 + (gb11643CheckCharacter(first17) === '1' ? '2' : '1');
    const phone = uniquePhone();

    // 3.3.2: 微办税 → 实名注册 opens the page through WeChat OAuth.
    const captcha1 = await captchaOf(page, () => page.goto(`${live.url}/h5/register`));
    await page.getByRole('heading', { name: '实名注册' }).waitFor();
    for (const label of ['姓名', '身份证号码', '手机号码', '验证码', '短信验证码', '登录密码', '确认密码']) {
      assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, label);
    }
    await page.screenshot({ path: screenshotPath('register-1-form'), fullPage: true });

    // 获取验证码 spends the image captcha and comes back with the values kept.
    await page.getByLabel('姓名', { exact: true }).fill('阿依古丽•买买提');
    await page.getByLabel('身份证号码', { exact: true }).fill(badCheck);
    await page.getByLabel('手机号码', { exact: true }).fill(phone);
    await page.getByLabel('验证码', { exact: true }).fill(captcha1);
    await page.screenshot({ path: screenshotPath('register-2-filled'), fullPage: true });
    await captchaOf(page, () => page.getByRole('button', { name: '获取验证码' }).click());
    await page.getByText(/验证码已发送至 138\*\*\*\*\d{4}/).waitFor();
    assert.equal(await page.getByLabel('手机号码', { exact: true }).inputValue(), phone);
    assert.equal(await page.getByLabel('姓名', { exact: true }).inputValue(), '阿依古丽•买买提');
    await page.screenshot({ path: screenshotPath('register-3-sms-sent'), fullPage: true });
    const inbox = (await (await fetch(`${live.url}/sandbox/sms?phone=${phone}`)).json()) as {
      messages: { code: string }[];
    };
    const code = inbox.messages.at(-1)!.code;

    // 注册 with a wrong check character and a 确认密码 that differs: both refused next to their fields.
    await page.getByLabel('短信验证码', { exact: true }).fill(code);
    await page.getByLabel('登录密码', { exact: true }).fill('Fj-tax-2025!');
    await page.getByLabel('确认密码', { exact: true }).fill('Fj-tax-2025?');
    await page.getByRole('button', { name: '注册', exact: true }).click();
    await page.getByText('两次输入的登录密码不一致').waitFor();
    assert.match(await messageOf(page, '身份证号码'), /校验位不正确/);
    assert.equal(await messageOf(page, '确认密码'), '两次输入的登录密码不一致');
    assert.equal(await page.getByLabel('登录密码', { exact: true }).inputValue(), '', 'passwords are never sent back');
    assert.equal(await page.getByLabel('短信验证码', { exact: true }).inputValue(), code, 'the SMS code was not spent');
    await page.screenshot({ path: screenshotPath('register-4-refused'), fullPage: true });
    assert.equal(await live.deps.bindings.findByOpenid(wechatUser.openid), null);

    // Corrected (the x typed lower-case), and sent with Enter from 确认密码: Enter means 注册, not 获取验证码.
    await page.getByLabel('身份证号码', { exact: true }).fill(idNumber.toLowerCase());
    await page.getByLabel('登录密码', { exact: true }).fill('Fj-tax-2025!');
    await page.getByLabel('确认密码', { exact: true }).fill('Fj-tax-2025!');
    await page.getByLabel('确认密码', { exact: true }).press('Enter');

    // Registration done, WeChat bound, scan-login works now.
    await page.getByRole('heading', { name: '注册成功' }).waitFor();
    const success = await page.locator('.weui-msg').innerText();
    assert.match(success, /本微信已绑定该账号/);
    assert.match(success, /微信扫码登录/);
    await page.screenshot({ path: screenshotPath('register-5-success'), fullPage: true });
    const binding = await live.deps.bindings.findByOpenid(wechatUser.openid);
    const account = binding ? await live.deps.accounts.findById(binding.accountId) : null;
    assert.equal(account?.idNumberIndex, live.deps.protector.index('id_number', idNumber));
    assert.equal(account?.loginName, null);
    assert.equal(account?.realName, '阿依古丽·买买提');

    await page.goto(`${live.url}/h5/register`);
    await page.getByRole('heading', { name: '您的微信已绑定实名账号' }).waitFor();
    await page.screenshot({ path: screenshotPath('register-6-already-bound'), fullPage: true });
    await context.close();
  });

  describe('with IDENTITY_VERIFIER=tencentcloud asking the sandbox 实名核身 stand-in (as the demo does)', () => {
    let verified: TestApp & { url: string };
    before(async () => {
      verified = await startLiveApp({ env: { IDENTITY_VERIFIER: 'tencentcloud' } });
    });
    after(() => verified?.close());

    it('refuses an identity the records do not confirm, next to 手机号码, and stores nothing', async () => {
      const wechatUser = verified.deps.simulator!.createUser('冒名者的微信');
      const context = await phoneContext(browser);
      await context.addCookies([{ name: SIMULATED_USER_COOKIE, value: wechatUser.openid, url: verified.url }]);
      const page = await context.newPage();
      const phone = uniquePhone();
      const accountCount = () => verified.deps.db.getRepository(AccountEntity).count();
      const before = await accountCount();
      const captcha = await captchaOf(page, () => page.goto(`${verified.url}/h5/register`));
      await page.getByLabel('姓名', { exact: true }).fill('王新税');
      await page.getByLabel('身份证号码', { exact: true }).fill(uniqueIdNumber());
      await page.getByLabel('手机号码', { exact: true }).fill(phone);
      await page.getByLabel('验证码', { exact: true }).fill(captcha);
      await captchaOf(page, () => page.getByRole('button', { name: '获取验证码' }).click());
      await page.getByText(/验证码已发送至 138\*\*\*\*\d{4}/).waitFor();
      const inbox = (await (await fetch(`${verified.url}/sandbox/sms?phone=${phone}`)).json()) as {
        messages: { code: string }[];
      };
      await page.getByLabel('短信验证码', { exact: true }).fill(inbox.messages.at(-1)!.code);
      await page.getByLabel('登录密码', { exact: true }).fill('Fj-tax-2025!');
      await page.getByLabel('确认密码', { exact: true }).fill('Fj-tax-2025!');
      await page.getByRole('button', { name: '注册', exact: true }).click();
      await page.getByText('运营商无此手机号码的实名记录').waitFor();
      assert.equal(await messageOf(page, '手机号码'), '运营商无此手机号码的实名记录');
      assert.equal(await page.getByLabel('姓名', { exact: true }).inputValue(), '王新税', 'the form keeps its values');
      await page.screenshot({ path: screenshotPath('register-7-identity-refused'), fullPage: true });
      assert.deepEqual(
        verified.deps.faceid!.calls.map((c) => c.action),
        ['PhoneVerification'],
      );
      assert.equal(await verified.deps.bindings.findByOpenid(wechatUser.openid), null);
      assert.equal(await accountCount(), before, 'no account');
      await context.close();
    });
  });
});
