import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { createTestAccount } from '../support/accountFixtures';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { SkippingClock } from '../support/skippingClock';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { LogCapture } from '../security/support/logCapture';
import { PC_BROWSER, World } from '../security/support/world';
import type { TestAccount } from '../support/accountFixtures';
import type { H5Client } from '../support/H5Client';

const TEMPLATE_ID = 'LoginNoticeTemplate01';
const FUZHOU_TELECOM = '218.85.157.99';

type TemplateBody = { template_id: string; url: string; data: Record<string, { value: string }> };

describe('login notice: a template message to every bound WeChat after each login', () => {
  const logs = new LogCapture('warn');
  const w = new World({
    logger: logs.logger,
    env: {
      WECHAT_TEMPLATE_LOGIN_NOTICE: TEMPLATE_ID,
      WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS: 'time=time1,method=thing2,portal=thing3,region=thing4,browser=thing5',
      MAX_BINDINGS_PER_ACCOUNT: '2',
      // A hanging send gives up quickly, so the tests do not wait on WeChat's 3 s.
      WECHAT_API_TIMEOUT_MS: '1000',
    },
  });
  let taxpayer: TestAccount;
  let phone: H5Client;

  before(() => w.start());
  after(() => w.stop());
  beforeEach(async () => {
    await w.reset();
    logs.clear();
    taxpayer = await w.quickAccount('林晓');
    phone = w.newUser('林晓');
  });

  const notices = () => w.t.deps.loginNotices!;
  const templates = () => w.sim.outbox.filter((m) => m.kind === 'template');
  const counted = async (name: string): Promise<number> => {
    const metric = await w.t.deps.metrics.registry.getSingleMetric('etax_login_notices_total')!.get();
    return metric.values.find((v) => v.labels.outcome === name)?.value ?? 0;
  };
  // The app lives through the describe: each test reads what it added to the counter.
  const baseline: Record<string, number> = {};
  beforeEach(async () => {
    for (const name of ['sent', 'retried', 'failed']) baseline[name] = await counted(name);
  });
  const outcome = async (name: string): Promise<number> => (await counted(name)) - (baseline[name] ?? 0);

  /** A scan login of `phone`'s account, confirmed on the phone, the PC at `clientIp`: the ticket to redeem. */
  async function confirmedTicket(clientIp = FUZHOU_TELECOM): Promise<string> {
    await w.insertBinding(phone.openid, taxpayer);
    const ticket = await w.createTicket({ clientIp, userAgent: PC_BROWSER });
    const link = w.confirmLink(await w.scan(phone.openid, w.sceneOf(ticket)));
    const page = await phone.open(link.path);
    const confirmed = await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link.token });
    assert.equal(confirmed.status, 200);
    return ticket.ticketId;
  }

  const scanLogin = async (clientIp = FUZHOU_TELECOM) => w.redeem(await confirmedTicket(clientIp));

  it('after a scan-login redeem, each bound WeChat gets the time, 微信扫码, the portal, the region and browser, and a link to 登录记录', async () => {
    const second = w.sim.createUser('林晓的另一个微信').openid;
    await w.insertBinding(second, taxpayer);
    const redeemed = await scanLogin();
    assert.equal(redeemed.status, 200);
    await notices().idle();

    const sent = templates();
    assert.deepEqual(sent.map((m) => m.touser).sort(), [phone.openid, second].sort());
    const body = sent[0]!.body as TemplateBody;
    assert.equal(body.template_id, TEMPLATE_ID);
    assert.equal(body.url, `${w.t.deps.config.publicUrl}/h5/logins`);
    assert.match(body.data.time1!.value, /^2026年\d+月\d+日 \d\d:\d\d$/);
    assert.equal(body.data.thing2!.value, '微信扫码');
    assert.equal(body.data.thing3!.value, '网上税务局');
    assert.match(body.data.thing4!.value, /^福建 福州 电信/);
    assert.equal(body.data.thing5!.value, 'Windows 上的 Chrome');
    assert.equal(await outcome('sent'), 2);
  });

  it('after a password login (POST /api/accounts/authenticate), the notice says 账号密码 and names the reported browser', async () => {
    await w.insertBinding(phone.openid, taxpayer);
    const res = await w
      .api()
      .post('/api/accounts/authenticate')
      .set('Authorization', `Bearer ${w.t.deps.config.portal.apiKeys[0]}`)
      .send({ loginName: taxpayer.phone, password: taxpayer.password, clientIp: '8.8.8.8', userAgent: PC_BROWSER });
    assert.equal(res.status, 200, res.text);
    await notices().idle();
    const [message] = templates();
    const data = (message!.body as TemplateBody).data;
    assert.equal(data.thing2!.value, '账号密码');
    // WeChat shows at most 20 characters of a keyword: longer values are cut with an ellipsis.
    assert.ok(Array.from(data.thing4!.value).length <= 20);
    assert.match(data.thing4!.value, /^美国/);
  });

  it('sends nothing for a failed password login', async () => {
    await w.insertBinding(phone.openid, taxpayer);
    const res = await w
      .api()
      .post('/api/accounts/authenticate')
      .set('Authorization', `Bearer ${w.t.deps.config.portal.apiKeys[0]}`)
      .send({ loginName: taxpayer.phone, password: 'wrong-password-1' });
    assert.equal(res.status, 401);
    await notices().idle();
    assert.equal(templates().length, 0);
  });

  it('retries a failed send once', async () => {
    w.sim.failNext('/cgi-bin/message/template/send', { errcode: -1, errmsg: 'system error' });
    assert.equal((await scanLogin()).status, 200);
    await notices().idle();
    assert.equal(templates().length, 1, 'the second try arrived');
    assert.equal(await outcome('retried'), 1);
    assert.equal(await outcome('sent'), 1);
    assert.equal(await outcome('failed'), 0);
  });

  it('counts and logs a notice that fails twice, and the login still succeeds', async () => {
    w.sim.failNext('/cgi-bin/message/template/send', { status: 502 }, 2);
    const redeemed = await scanLogin();
    assert.equal(redeemed.status, 200);
    assert.equal((redeemed.body as { account: { id: string } }).account.id, taxpayer.account.id);
    await notices().idle();
    assert.equal(templates().length, 0);
    assert.equal(await outcome('failed'), 1);
    const line = logs.lines.find((l) => l.msg === 'login notice not sent');
    assert.ok(line, 'the failure is logged');
    assert.doesNotMatch(JSON.stringify(line), new RegExp(phone.openid), 'with the openid masked');
  });

  it('does not retry an errcode a second try cannot change (43004: the user unfollowed)', async () => {
    w.sim.failNext('/cgi-bin/message/template/send', { errcode: 43004, errmsg: 'require subscribe' });
    assert.equal((await scanLogin()).status, 200);
    await notices().idle();
    assert.equal(await outcome('retried'), 0);
    assert.equal(await outcome('failed'), 1);
    assert.equal(templates().length, 0);
  });

  it('never delays the login: the redeem is answered before the notice, whose two tries time out after it', async () => {
    // Each try hangs past WECHAT_API_TIMEOUT_MS (1 s): sending in the request would hold the answer ≥ 2 s.
    w.sim.failNext('/cgi-bin/message/template/send', { hangMs: 2500 }, 2);
    const ticketId = await confirmedTicket();
    const started = Date.now();
    const redeemed = await w.redeem(ticketId);
    const answeredAfter = Date.now() - started;
    assert.equal(redeemed.status, 200);
    await notices().idle();
    const settledAfter = Date.now() - started;
    assert.ok(
      settledAfter - answeredAfter >= 1500,
      `answered after ${answeredAfter} ms, notice settled after ${settledAfter} ms`,
    );
    assert.equal(await outcome('failed'), 1, 'both tries timed out');
    assert.equal(templates().length, 0);
  });
});

describe('login notice: a burst of logins stays within the template-message rate', function () {
  this.timeout(30_000);
  // Real time (the limiter waits for the next second of the shared clock), on the simulator's clock too.
  const clock = new SkippingClock();
  const wechat = useSimulatedWeChat(clock);
  let t: TestApp;

  before(async () => {
    t = await createTestApp({
      clock,
      env: { ...wechat.env(), WECHAT_TEMPLATE_LOGIN_NOTICE: TEMPLATE_ID, WECHAT_TEMPLATE_SENDS_PER_SECOND: '2' },
    });
  });
  after(() => t.close());

  it('sends every notice of 5 logins at once, never more than WECHAT_TEMPLATE_SENDS_PER_SECOND in a second', async () => {
    await resetState(t.deps);
    const taxpayer = await createTestAccount(t.deps, { realName: '林晓' });
    const openid = wechat.sim.createUser('林晓').openid;
    await t.deps.db.getRepository(WechatBindingEntity).insert({
      id: randomUUID(),
      accountId: taxpayer.account.id,
      openid,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(clock.now()),
    });
    const logins = await Promise.all(
      Array.from({ length: 5 }, () =>
        request(t.app.callback())
          .post('/api/accounts/authenticate')
          .set('Authorization', `Bearer ${t.deps.config.portal.apiKeys[0]}`)
          .send({ loginName: taxpayer.phone, password: taxpayer.password }),
      ),
    );
    assert.deepEqual(
      logins.map((res) => res.status),
      [200, 200, 200, 200, 200],
    );
    await t.deps.loginNotices!.idle();
    const sentAt = wechat.sim.outbox.filter((m) => m.kind === 'template').map((m) => Math.floor(m.at / 1000));
    assert.equal(sentAt.length, 5, 'every notice is sent');
    const perSecond = new Map<number, number>();
    for (const second of sentAt) perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    assert.ok(Math.max(...perSecond.values()) <= 2, `sends per second: ${JSON.stringify([...perSecond])}`);
    assert.ok(perSecond.size >= 3, 'spread over at least three seconds');
  });
});
