import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { WeChatSimulator } from '../../src/sandbox/simulator/WeChatSimulator';
import { text } from '../../src/wechat/Reply';
import { createTestAccount } from '../support/accountFixtures';
import { H5Client, visibleText } from '../support/H5Client';
import { createTestApp, listen, resetState, startLiveApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const KEY = `Bearer ${env.PORTAL_API_KEYS}`;

/** The embedded demo's store set-up, end to end: every store in the process, no Redis client at all (MySQL is still the test database). */
describe('REDIS_URL=memory: the service with its stores in the process', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  const sim = new WeChatSimulator({ appId: env.WECHAT_APPID!, appSecret: env.WECHAT_APPSECRET!, clock });
  const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock });
  let simServer: Awaited<ReturnType<typeof listen>>;
  let t: TestApp;

  const api = () => request(t.app.callback());

  before(async () => {
    simServer = await listen(sim.app);
    t = await createTestApp({
      clock,
      env: {
        REDIS_URL: 'memory',
        WECHAT_API_BASE: simServer.url,
        WECHAT_OPEN_BASE: simServer.url,
        WECHAT_MP_BASE: simServer.url,
      },
    });
  });
  after(async () => {
    await t?.close();
    await simServer?.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    sim.reset();
    clock.advance(3600_000);
  });

  async function push(xml: string): Promise<string> {
    const signed = driver.sign(xml);
    const res = await api().post('/wechat').query(signed.query).type('text/xml').send(signed.body);
    assert.equal(res.status, 200);
    return (await driver.readReply(res.text))?.Content ?? '';
  }

  it('makes no Redis client, and is ready with redis "memory"', async () => {
    assert.equal(t.deps.redis, null);
    const res = await api().get('/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ready', checks: { mysql: 'ok', redis: 'memory' } });
  });

  it('handles a push once however often WeChat retries it', async () => {
    const handled: string[] = [];
    t.deps.scenes.register('memo_', (scan) => {
      handled.push(scan.scene);
      return Promise.resolve(text('handled'));
    });
    const xml = driver.event('oMEMORY00000000000000000000001', 'SCAN', 'memo_1');
    const replies = await Promise.all([push(xml), push(xml), push(xml)]);
    assert.ok(
      replies.every((reply) => reply === 'handled' || reply === ''),
      JSON.stringify(replies),
    );
    assert.equal(await push(xml), 'handled');
    assert.deepEqual(handled, ['memo_1']);
  });

  it('binds a WeChat through the H5 pages: OAuth, session, image captcha, SMS code', async () => {
    const taxpayer = await createTestAccount(t.deps);
    const phone = new H5Client(t.app, simServer.url, sim.createUser('纳税人').openid);
    const page = await phone.open('/h5/bind');
    assert.equal(page.status, 200);
    const loggedIn = await phone.post('/h5/bind/login', {
      _csrf: phone.csrfToken(page.text),
      loginName: taxpayer.idNumber,
      password: taxpayer.password,
      captcha: await phone.captcha('bind-login'),
    });
    assert.equal(loggedIn.status, 302);
    assert.equal((await phone.submit('/h5/bind', '/h5/bind/sms', { phone: taxpayer.phone, smsCode: '' })).status, 302);
    const captchaPage = await phone.open('/h5/bind/sms');
    const sent = await phone.post('/h5/bind/sms/send', {
      _csrf: phone.csrfToken(captchaPage.text),
      captcha: await phone.captcha('bind-sms'),
    });
    assert.equal(sent.headers.location, '/h5/bind?sent=1');
    const code = t.deps.smsOutbox!.forPhone(taxpayer.phone).at(-1)!.code!;
    const bound = await phone.submit('/h5/bind?sent=1', '/h5/bind/confirm', { phone: taxpayer.phone, smsCode: code });
    assert.equal(bound.headers.location, '/h5/bind/done');
    assert.match(visibleText((await phone.open('/h5/bind/done')).text), /绑定成功/);
    assert.equal(
      (await t.deps.db.getRepository(WechatBindingEntity).findOneByOrFail({ openid: phone.openid })).accountId,
      taxpayer.account.id,
    );
  });

  it('walks a QR login: ticket, scan and 确定登录 each wake the held long-poll, redeem once', async () => {
    const taxpayer = await createTestAccount(t.deps, { realName: '王纳税' });
    const openid = sim.createUser('王纳税').openid;
    await t.deps.db.getRepository(WechatBindingEntity).insert({
      id: randomUUID(),
      accountId: taxpayer.account.id,
      openid,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(clock.now()),
    });
    const created = await api()
      .post('/api/login/tickets')
      .set('Authorization', KEY)
      .send({ clientIp: '203.0.113.7', userAgent: 'Mozilla/5.0' });
    assert.equal(created.status, 201, created.text);
    const { ticketId, qrContent } = created.body as { ticketId: string; qrContent: string };

    const whileScanning = holdPoll(ticketId, 'pending');
    await waitFor(() => t.deps.ticketChanges.waiting === 1);
    const reply = await push(driver.event(openid, 'SCAN', sim.qrByUrl(qrContent)!.sceneStr, { Ticket: 'T' }));
    assert.equal((await whileScanning).body.status, 'scanned');
    const link = /href="[^"]*(\/h5\/login\/confirm\?c=([0-9a-f]{48}))"/.exec(reply);
    assert.ok(link, reply);

    const phone = new H5Client(t.app, simServer.url, openid);
    const page = await phone.open(link[1]!);
    assert.equal(page.status, 200);
    const whileConfirming = holdPoll(ticketId, 'scanned');
    await waitFor(() => t.deps.ticketChanges.waiting === 1);
    const confirmed = await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link[2]! });
    assert.match(visibleText(confirmed.text), /登录成功/);
    assert.equal((await whileConfirming).body.status, 'confirmed');

    const redeemed = await api().post(`/api/login/tickets/${ticketId}/redeem`).set('Authorization', KEY);
    assert.equal(redeemed.status, 200);
    assert.equal(redeemed.body.account.id, taxpayer.account.id);
    assert.equal(redeemed.body.openid, openid);
    const again = await api().post(`/api/login/tickets/${ticketId}/redeem`).set('Authorization', KEY);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'ticket_already_redeemed');
  });

  /** A portal long-poll held until the ticket's status differs from `status`. */
  function holdPoll(ticketId: string, status: string): Promise<request.Response> {
    return api()
      .get(`/api/login/tickets/${ticketId}?wait=20&status=${status}`)
      .then((res) => res);
  }
});

describe('REDIS_URL=memory: the reference portal keeps its sessions in the process', () => {
  let live: TestApp & { url: string };
  before(async () => {
    live = await startLiveApp({ env: { REDIS_URL: 'memory', PORTAL_DEMO: '1' } });
  });
  after(async () => {
    await live?.close();
  });

  it('logs in with 实名用户登录 (portal session, CSRF, image captcha) and stays logged in', async () => {
    const taxpayer = await createTestAccount(live.deps, { realName: '林纳税' });
    const browser = request.agent(live.url);
    const page = await browser.get('/portal/login?tab=password');
    assert.equal(page.status, 200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const captcha = (await browser.get('/portal/captcha')).headers['x-sandbox-captcha'] as string;
    const loggedIn = await browser
      .post('/portal/login/password')
      .type('form')
      .send({ _csrf: csrf, loginName: taxpayer.idNumber, password: taxpayer.password, captcha });
    assert.equal(loggedIn.status, 303, loggedIn.text);
    const home = await browser.get('/portal/home');
    assert.equal(home.status, 200);
    assert.ok(visibleText(home.text).includes('欢迎您，林纳税'), visibleText(home.text));
  });
});

/** Yields to the event loop until `condition` holds (an HTTP request reaching its handler), without sleeping. */
async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
