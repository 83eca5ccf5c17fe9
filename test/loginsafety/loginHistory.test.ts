import assert from 'node:assert/strict';
import { maskOpenid } from '../../src/security/masking';
import { PC_BROWSER, World } from '../security/support/world';
import type { TestAccount } from '../support/accountFixtures';
import { visibleText, type H5Client } from '../support/H5Client';

const FUZHOU_TELECOM = '218.85.157.99';
const GUANGZHOU_TELECOM = '202.96.128.86';
const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0';

/** The entries of 登录记录 as the page shows them: kind and visible text, newest first. */
function records(html: string): { kind: string; text: string }[] {
  return [...html.matchAll(/<li class="weui-cell login-record[^"]*" data-kind="(\w+)">([\s\S]*?)<\/li>/g)].map((m) => ({
    kind: m[1]!,
    text: visibleText(m[2]!),
  }));
}

describe("登录记录: the account's recent logins and binding changes, for a bound WeChat", () => {
  const w = new World();
  let taxpayer: TestAccount;
  let phone: H5Client;

  before(() => w.start());
  after(() => w.stop());
  beforeEach(async () => {
    await w.reset();
    taxpayer = await w.quickAccount('林晓');
    phone = w.newUser('林晓');
  });

  async function scanLogin(clientIp: string) {
    const ticket = await w.createTicket({ clientIp, userAgent: PC_BROWSER });
    const link = w.confirmLink(await w.scan(phone.openid, w.sceneOf(ticket)));
    const page = await phone.open(link.path);
    await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link.token });
    assert.equal((await w.redeem(ticket.ticketId)).status, 200);
  }

  const passwordLogin = (clientIp: string) =>
    w
      .api()
      .post('/api/accounts/authenticate')
      .set('Authorization', `Bearer ${w.t.deps.config.portal.apiKeys[0]}`)
      .send({ loginName: taxpayer.phone, password: taxpayer.password, clientIp, userAgent: FIREFOX_MAC })
      .then((res) => assert.equal(res.status, 200, res.text));

  it('lists scan and password logins newest first: method, portal, region, browser and which WeChat (masked)', async () => {
    const bound = await w.bindFully(phone, taxpayer);
    assert.equal(bound.status, 302, visibleText(bound.text));
    await scanLogin(FUZHOU_TELECOM);
    w.clock.advance(60_000);
    await passwordLogin(GUANGZHOU_TELECOM);

    const page = await phone.open('/h5/logins');
    assert.equal(page.status, 200);
    const listed = records(page.text);
    assert.deepEqual(
      listed.map((r) => r.kind),
      ['password', 'qr', 'bind'],
      "the 实名绑定 form's own password check is no login",
    );
    const [password, qr, bind] = listed as [(typeof listed)[0], (typeof listed)[0], (typeof listed)[0]];
    assert.match(password.text, /账号密码登录 · 网上税务局/);
    assert.match(password.text, /电脑所在地：广东 广州/);
    assert.match(password.text, /浏览器：macOS 上的 Firefox 浏览器/);
    assert.doesNotMatch(password.text, /微信：/, 'a password login names no WeChat');
    assert.match(qr.text, /微信扫码登录 · 网上税务局/);
    assert.match(qr.text, /电脑所在地：福建 福州/);
    assert.match(qr.text, /浏览器：Windows 上的 Chrome 浏览器/);
    assert.ok(qr.text.includes(`确认微信：${maskOpenid(phone.openid)}（本微信）`), qr.text);
    assert.match(bind.text, /^绑定微信/);
    assert.doesNotMatch(page.text, new RegExp(phone.openid), 'the openid only masked');
    assert.match(page.text, /href="\/h5\/logins\/not-me"/);
  });

  it('lists the latest 20 entries only', async () => {
    await w.insertBinding(phone.openid, taxpayer);
    for (let i = 0; i < 22; i++) {
      w.clock.advance(1000);
      await passwordLogin(FUZHOU_TELECOM);
    }
    const listed = records((await phone.open('/h5/logins')).text);
    assert.equal(listed.length, 20);
  });

  it("never shows another account's logins", async () => {
    const other = await w.quickAccount('王五');
    const stranger = w.newUser('王五');
    await w.insertBinding(stranger.openid, other);
    await w.insertBinding(phone.openid, taxpayer);
    await scanLogin(FUZHOU_TELECOM);
    const listed = records((await stranger.open('/h5/logins')).text);
    assert.deepEqual(listed, [], "the stranger's account has no logins");
  });

  it('tells a WeChat bound to no account so, and lists nothing', async () => {
    const page = await phone.open('/h5/logins');
    assert.equal(page.status, 200);
    assert.match(visibleText(page.text), /本微信未绑定账号/);
    assert.deepEqual(records(page.text), []);
  });

  it('不是我本人: explains what to do, links to password reset, and unbinds this WeChat by POST', async () => {
    await w.insertBinding(phone.openid, taxpayer);
    const page = await phone.open('/h5/logins/not-me');
    assert.equal(page.status, 200);
    assert.match(visibleText(page.text), /修改登录密码/);
    assert.match(page.text, /href="\/h5\/password\/forgot"/);
    const done = await phone.post('/h5/logins/unbind', { _csrf: phone.csrfToken(page.text) });
    assert.equal(done.status, 200);
    assert.match(visibleText(done.text), /已解绑本微信/);
    assert.equal(await w.bindings().countBy({ openid: phone.openid }), 0);
    const [unbind] = await w.audit('unbind');
    assert.equal(unbind?.openid, phone.openid);
    assert.equal(unbind?.accountId, taxpayer.account.id);
    await w.sim.answered('/message/custom/send');
    assert.ok(
      w.sim.outbox.some((m) => m.touser === phone.openid && JSON.stringify(m.body).includes('解除绑定')),
      'the unbound WeChat is told',
    );
  });

  it('V3.5.1 refuses the unbind without the CSRF token, or from another origin, and keeps the binding', async () => {
    await w.insertBinding(phone.openid, taxpayer);
    const page = await phone.open('/h5/logins/not-me');
    const missing = await phone.post('/h5/logins/unbind', {});
    assert.equal(missing.status, 403);
    const forged = await phone.agent
      .post('/h5/logins/unbind')
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ _csrf: phone.csrfToken(page.text) });
    assert.equal(forged.status, 403);
    assert.equal(await w.bindings().countBy({ openid: phone.openid }), 1);
    assert.deepEqual(await w.audit('unbind'), []);
  });

  it('V3.5.3 unbinds nothing by GET', async () => {
    await w.insertBinding(phone.openid, taxpayer);
    const res = await phone.open('/h5/logins/unbind');
    assert.notEqual(res.status, 200);
    assert.equal(await w.bindings().countBy({ openid: phone.openid }), 1);
  });

  it('answers the keyword 登录记录 with a link to the page', async () => {
    const push = w.driver.sign(w.driver.textMessage(phone.openid, '登录记录'));
    const res = await w.api().post('/wechat').query(push.query).type('text/xml').send(push.body);
    const reply = (await w.driver.readReply(res.text))?.Content ?? '';
    assert.ok(reply.includes(`href="${w.t.deps.config.publicUrl}/h5/logins"`), reply);
  });
});
