import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { WeChatSimulator } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { H5Client, visibleText } from '../support/H5Client';
import { createTestApp, listen, resetState, type TestApp } from '../support/testApp';
import { env, PORTAL_KEY } from './support/faultRig';
import { rawRequest, ServiceProcess } from './support/serviceProcess';

interface Ticket {
  ticketId: string;
  qrContent: string;
}

/** A phone's browser against an instance in another process (supertest agents take a base URL too). */
const remotePhone = (baseUrl: string, simulatorUrl: string, openid: string) =>
  new H5Client({ callback: () => baseUrl } as unknown as Koa, simulatorUrl, openid);

describe('reliability: three instances (processes) on one MariaDB database and one Redis', function () {
  this.timeout(120_000);
  const sim = new WeChatSimulator({ appId: env.WECHAT_APPID!, appSecret: env.WECHAT_APPSECRET! });
  const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID! });
  let simServer: Awaited<ReturnType<typeof listen>>;
  /** This process's view of the same database and Redis: fixtures and checks only, it serves nothing. */
  let fixtures: TestApp;
  let instances: ServiceProcess[] = [];
  let taxpayer: TestAccount;
  let openid: string;

  before(async () => {
    simServer = await listen(sim.app);
    fixtures = await createTestApp();
    await resetState(fixtures.deps);
    taxpayer = await createTestAccount(fixtures.deps, { realName: '王纳税' });
    openid = sim.createUser('王纳税').openid;
    await fixtures.deps.db.getRepository(WechatBindingEntity).insert({
      id: randomUUID(),
      accountId: taxpayer.account.id,
      openid,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(),
    });
    const wechat = {
      WECHAT_API_BASE: simServer.url,
      WECHAT_OPEN_BASE: simServer.url,
      WECHAT_MP_BASE: simServer.url,
      LOG_LEVEL: 'warn',
    };
    instances = await Promise.all(
      [0, 1, 2].map(() => ServiceProcess.start('test/reliability/instanceServer.ts', wechat)),
    );
  });
  after(async () => {
    await Promise.allSettled(instances.map((instance) => instance.dispose()));
    await fixtures?.close();
    await simServer?.close();
  });

  const api = (instance: ServiceProcess, path: string, init: { method?: string; body?: string; key?: boolean } = {}) =>
    rawRequest(`${instance.url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.key ? { authorization: PORTAL_KEY } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
    }).response;
  const json = <T>(res: { body: string }) => JSON.parse(res.body) as T;

  it('creates on A, scans through B, confirms through C, wakes the poll held on A; one token fetch between them', async () => {
    const [a, b, c] = instances as [ServiceProcess, ServiceProcess, ServiceProcess];

    // Each instance makes a QR at the same moment: the token is fetched once, for all three.
    const created = await Promise.all(
      instances.map((instance) => api(instance, '/api/login/tickets', { method: 'POST', body: '{}', key: true })),
    );
    assert.deepEqual(
      created.map((r) => r.status),
      [201, 201, 201],
      created.map((r) => r.body).join('\n'),
    );
    assert.equal(sim.tokenFetches(), 1, 'one token fetch between the three instances');
    const ticket = json<Ticket>(created[0]!);

    // A browser's long-poll held on A: once its request is on the wire, an answer from A to a later
    // request means A has read it (one event loop, requests taken in arrival order).
    const scannedPoll = rawRequest(`${a.url}/api/login/tickets/${ticket.ticketId}?wait=25&status=pending`);
    await scannedPoll.sent;
    assert.equal((await api(a, '/healthz')).status, 200);

    // The scan arrives at B.
    const scene = sim.qrByUrl(ticket.qrContent)!.sceneStr!;
    const reply = await driver.post(
      `${b.url}/wechat`,
      driver.sign(driver.event(openid, 'SCAN', scene, { Ticket: 'T' })),
    );
    assert.equal(reply.status, 200);
    const content = (await driver.readReply(reply.body))?.Content ?? '';
    const link = /href="[^"]*(\/h5\/login\/confirm\?c=([0-9a-f]{48}))"/.exec(content);
    assert.ok(link, content);
    const scanned = await scannedPoll.response;
    assert.equal(scanned.status, 200);
    assert.equal(json<{ status: string }>(scanned).status, 'scanned', "A saw B's scan");

    // 确定登录 on C (its OAuth, its session in the shared Redis) while A holds the next poll.
    const confirmedPoll = rawRequest(`${a.url}/api/login/tickets/${ticket.ticketId}?wait=25&status=scanned`);
    let pollAnswered = false;
    void confirmedPoll.response.finally(() => {
      pollAnswered = true;
    });
    await confirmedPoll.sent;
    const phone = remotePhone(c.url, simServer.url, openid);
    const page = await phone.open(link[1]!);
    assert.equal(page.status, 200, visibleText(page.text));
    assert.match(visibleText(page.text), /确定登录/);
    assert.equal(pollAnswered, false, 'the poll on A is still held when 确定登录 is tapped');
    const confirmedAt = Date.now();
    const confirmed = await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link[2]! });
    assert.equal(confirmed.status, 200);
    assert.match(visibleText(confirmed.text), /登录成功/);
    const woken = await confirmedPoll.response;
    assert.equal(json<{ status: string }>(woken).status, 'confirmed', "A's poll woke on C's confirmation");
    assert.ok(Date.now() - confirmedAt < 5000, 'promptly, not at the end of its wait');

    // The session C made is B's too: no OAuth again, the page shows the confirmed login.
    const onB = await fetch(`${b.url}${link[1]!}`, { headers: { cookie: phone.sessionCookie()! }, redirect: 'manual' });
    assert.equal(onB.status, 200);
    assert.match(visibleText(await onB.text()), /已确认登录/);

    // The portal redeems through B, once.
    const redeemed = await api(b, `/api/login/tickets/${ticket.ticketId}/redeem`, { method: 'POST', key: true });
    assert.equal(redeemed.status, 200, redeemed.body);
    assert.equal(json<{ openid: string; account: { id: string } }>(redeemed).account.id, taxpayer.account.id);
    assert.equal(
      (await api(c, `/api/login/tickets/${ticket.ticketId}/redeem`, { method: 'POST', key: true })).status,
      409,
    );
    assert.equal(sim.tokenFetches(), 1);
  });

  it('each instance shuts down on SIGTERM and exits 0', async () => {
    for (const instance of instances) instance.child.kill('SIGTERM');
    const exits = await Promise.all(instances.map((instance) => instance.exited(15_000)));
    assert.deepEqual(
      exits,
      [0, 1, 2].map(() => ({ code: 0, signal: null })),
      instances.map((i) => i.output()).join('\n'),
    );
  });
});
