import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { SIMULATED_USER_COOKIE } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount } from '../support/accountFixtures';
import { launchBrowser, phoneContext, screenshotPath } from '../support/browser';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const EDGE_ON_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0';
// Carrier blocks whose region the offline database has long known.
const GUANGZHOU = '202.96.128.86';
const FUZHOU = '218.85.157.99';
const FUZHOU_OTHER_CARRIER = '36.248.0.1';
const MISMATCH_WARNING = '请求登录的电脑位于';

describe('login: the confirm page in a phone-sized Chromium with a WeChat user agent', () => {
  let live: TestApp & { url: string };
  let browser: Browser;

  before(async () => {
    // Behind a proxy, as in production: the phone's address comes from X-Forwarded-For.
    live = await startLiveApp({ env: { TRUST_PROXY: '1' } });
    browser = await launchBrowser();
  });
  beforeEach(() => resetState(live.deps));
  after(async () => {
    await browser?.close();
    await live?.close();
  });

  /**
   * A portal asks for a ticket for a PC at `computerIp` (as a portal behind a proxy reports its
   * browser), a bound WeChat scans it, and its phone opens the confirm link from `phoneIp`.
   */
  async function openConfirmPage(computerIp: string, phoneIp?: string): Promise<{ page: Page; ticketId: string }> {
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
      body: JSON.stringify({ clientIp: computerIp, userAgent: EDGE_ON_WINDOWS }),
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
    if (phoneIp) await context.setExtraHTTPHeaders({ 'x-forwarded-for': phoneIp });
    await context.addCookies([{ name: SIMULATED_USER_COOKIE, value: user.openid, url: live.url }]);
    const page = await context.newPage();
    await page.goto(link);
    await page.getByRole('heading', { name: '福建省网上税务局登录确认' }).waitFor();
    return { page, ticketId: created.ticketId };
  }

  it('shows who asks to log in and confirms with 确定登录', async () => {
    const { page, ticketId } = await openConfirmPage('198.51.100.23');
    const text = await page.locator('body').innerText();
    for (const expected of ['198.51.100.23', 'Windows 上的 Edge 浏览器', '陈**', '请确认是您本人'])
      assert.ok(text.includes(expected), expected);
    // A documentation address and the loopback phone have no place: said so, and nothing compared.
    assert.equal(await page.locator('[data-region="computer"]').innerText(), '未知地区');
    assert.equal(await page.locator('[data-region="phone"]').innerText(), '本机地址');
    assert.ok(!text.includes(MISMATCH_WARNING));
    await page.screenshot({ path: screenshotPath('login-1-confirm'), fullPage: true });
    await page.getByRole('button', { name: '确定登录' }).click();
    await page.getByRole('heading', { name: '登录成功' }).waitFor();
    await page.screenshot({ path: screenshotPath('login-2-confirmed'), fullPage: true });
    const status = (await fetch(`${live.url}/api/login/tickets/${ticketId}`).then((r) => r.json())) as {
      status: string;
    };
    assert.equal(status.status, 'confirmed');
    await page.context().close();
  });

  it('V6.3.5 relayed QR code (QRLJacking): warns before the buttons when the PC is in another province than the phone', async () => {
    const { page, ticketId } = await openConfirmPage(GUANGZHOU, FUZHOU);
    assert.equal(await page.locator('[data-region="computer"]').innerText(), '广东 广州 电信');
    assert.equal(await page.locator('[data-region="phone"]').innerText(), '福建 福州 电信DNS服务器');
    const warning = page.getByRole('alert');
    assert.equal(
      (await warning.innerText()).trim(),
      '请求登录的电脑位于 广东 广州，与您当前所在地 福建 福州 不同。如非本人在电脑上操作，请点击"取消"。',
    );
    // Before the buttons, and 取消 as large as 确定登录.
    const warningBox = (await warning.boundingBox())!;
    const confirmBox = (await page.getByRole('button', { name: '确定登录' }).boundingBox())!;
    const cancelBox = (await page.getByRole('button', { name: '取消' }).boundingBox())!;
    assert.ok(warningBox.y + warningBox.height <= confirmBox.y, 'the warning comes before the buttons');
    assert.equal(cancelBox.width, confirmBox.width);
    assert.equal(cancelBox.height, confirmBox.height);
    await page.screenshot({ path: screenshotPath('login-3-confirm-other-province'), fullPage: true });
    await page.getByRole('button', { name: '取消' }).click();
    await page.getByRole('heading', { name: '已取消登录' }).waitFor();
    const status = (await fetch(`${live.url}/api/login/tickets/${ticketId}`).then((r) => r.json())) as {
      status: string;
    };
    assert.equal(status.status, 'cancelled');
    await page.context().close();
  });

  it("shows both regions and no warning when the PC is in the phone's city", async () => {
    const { page } = await openConfirmPage(FUZHOU_OTHER_CARRIER, FUZHOU);
    assert.equal(await page.locator('[data-region="computer"]').innerText(), '福建 福州 联通');
    assert.equal(await page.locator('[data-region="phone"]').innerText(), '福建 福州 电信DNS服务器');
    assert.equal(await page.getByRole('alert').count(), 0);
    await page.screenshot({ path: screenshotPath('login-4-confirm-same-city'), fullPage: true });
    await page.context().close();
  });
});
