import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import Koa from 'koa';
import request from 'supertest';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { Metrics } from '../../src/observability/Metrics';
import { metricsRoutes } from '../../src/observability/metricsRoutes';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { H5Client } from '../support/H5Client';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';
import { withStub } from '../support/withStub';
import { waitUntil } from '../reliability/support/processes';
import { parseExposition, valueOf, type Sample } from './support/exposition';

const env = testEnvironment();
const KEY = `Bearer ${env.PORTAL_API_KEYS}`;
const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

describe('observability: /metrics (prom-client)', () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 2, 0, 0));
  const wechat = useSimulatedWeChat(clock);
  const { sim } = wechat;
  const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock });
  /** The usual app: no METRICS_TOKEN, so /metrics answers loopback only. */
  let a: TestApp;
  /** A second app in this process: METRICS_TOKEN set, short WeChat timeout and reply deadline. */
  let b: TestApp;
  let taxpayer: TestAccount;

  const scrape = async (t: TestApp = a): Promise<Sample[]> => {
    const res = await request(t.app.callback()).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    assert.equal(res.status, 200, res.text);
    return parseExposition(res.text);
  };
  const push = async (t: TestApp, xml: string, tamper = false) => {
    const signed = driver.sign(xml);
    const query = tamper ? { ...signed.query, signature: '0'.repeat(40) } : signed.query;
    return request(t.app.callback()).post('/wechat').query(query).type('text/xml').send(signed.body);
  };
  const pushes = (samples: Sample[], labels: Record<string, string>) =>
    valueOf(samples, 'etax_wechat_push_events_total', labels);

  before(async () => {
    a = await createTestApp({ clock, env: wechat.env() });
    b = await createTestApp({
      clock,
      replyDeadlineMs: 100,
      env: { ...wechat.env(), METRICS_TOKEN, WECHAT_API_TIMEOUT_MS: '200' },
    });
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });
  beforeEach(async () => {
    await resetState(a.deps);
    clock.advance(3600_000);
    taxpayer = await createTestAccount(a.deps, { realName: '陈纳税' });
  });

  describe('the endpoint', () => {
    it("serves the text exposition format from loopback, with prom-client's process metrics", async () => {
      const res = await request(a.app.callback()).get('/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type']!, /^text\/plain; version=0\.0\.4; charset=utf-8$/);
      assert.equal(res.headers['cache-control'], 'no-store');
      for (const family of [
        'etax_wechat_push_events_total counter',
        'etax_login_ticket_transitions_total counter',
        'etax_login_ticket_rejections_total counter',
        'etax_login_long_polls gauge',
        'etax_wechat_api_calls_total counter',
        'etax_wechat_api_errors_total counter',
        'etax_wechat_api_transport_failures_total counter',
        'etax_wechat_api_call_duration_seconds histogram',
        'etax_http_request_duration_seconds histogram',
        'process_cpu_user_seconds_total counter',
        'nodejs_eventloop_lag_seconds gauge',
        'nodejs_heap_size_used_bytes gauge',
        'nodejs_gc_duration_seconds histogram',
      ])
        assert.ok(res.text.includes(`# TYPE ${family}\n`), family);
      parseExposition(res.text);
    });

    it('without METRICS_TOKEN, answers 404 to a request a proxy forwarded or one from another host', async () => {
      for (const header of ['X-Forwarded-For', 'Forwarded', 'X-Real-IP']) {
        const res = await request(a.app.callback()).get('/metrics').set(header, '198.51.100.7');
        assert.equal(res.status, 404, header);
        assert.doesNotMatch(res.text, /etax_/);
      }
      // The peer address is the socket's, whatever TRUST_PROXY says; pretend the socket is remote.
      const metrics = new Metrics({ defaultMetrics: false });
      for (const [peer, status] of [
        ['10.0.0.5', 404],
        ['203.0.113.1', 404],
        ['::ffff:192.168.1.2', 404],
        ['::1', 200],
        ['::ffff:127.0.0.1', 200],
      ] as const) {
        const app = new Koa();
        app.use(async (ctx, next) => {
          Object.defineProperty(ctx.req.socket, 'remoteAddress', { value: peer, configurable: true });
          await next();
        });
        app.use(metricsRoutes({ metrics, token: null, production: false }).routes());
        assert.equal((await request(app.callback()).get('/metrics')).status, status, peer);
      }
    });

    it('with METRICS_TOKEN, needs the bearer token from anywhere (401 otherwise)', async () => {
      for (const authorization of [
        undefined,
        'Bearer wrong-token',
        `Basic ${METRICS_TOKEN}`,
        `Bearer ${METRICS_TOKEN}x`,
      ]) {
        const call = request(b.app.callback()).get('/metrics').set('Accept', 'application/json');
        const res = authorization ? await call.set('Authorization', authorization) : await call;
        assert.equal(res.status, 401, authorization);
        assert.equal(res.body.error.code, 'invalid_metrics_token');
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="metrics"');
      }
      const forwarded = await request(b.app.callback())
        .get('/metrics')
        .set('Authorization', `Bearer ${METRICS_TOKEN}`)
        .set('X-Forwarded-For', '198.51.100.7');
      assert.equal(forwarded.status, 200);
    });

    it('bounds the labels that come from outside: method, api name, status class', async () => {
      const metrics = new Metrics({ defaultMetrics: false });
      metrics.httpRequest('PROPFIND', '/x', 207, 0.01);
      metrics.httpRequest('GET', '/x', 0, 0.01);
      metrics.wechatCallSucceeded('cgi-bin/../${secret}', 0.01);
      metrics.wechatErrcode('menu/get', 1.5, 0.01);
      const samples = parseExposition((await metrics.expose()).body);
      assert.equal(
        valueOf(samples, 'etax_http_request_duration_seconds_count', { method: 'other', status_class: '2xx' }),
        1,
      );
      assert.equal(
        valueOf(samples, 'etax_http_request_duration_seconds_count', { method: 'GET', status_class: 'other' }),
        1,
      );
      assert.equal(valueOf(samples, 'etax_wechat_api_calls_total', { api: 'other', result: 'ok' }), 1);
      assert.equal(valueOf(samples, 'etax_wechat_api_errors_total', { api: 'menu/get', errcode: 'other' }), 1);
      assert.ok(!samples.some((s) => s.name.startsWith('process_')), 'no process metrics when turned off');
    });

    it("keeps each app instance's counts in its own registry", async () => {
      assert.notEqual(a.deps.metrics.registry, b.deps.metrics.registry);
      const before = await scrape(b);
      for (let i = 0; i < 3; i++) await request(a.app.callback()).get('/healthz');
      const after = await scrape(b);
      const count = (s: Sample[]) => valueOf(s, 'etax_http_request_duration_seconds_count', { route: '/healthz' });
      assert.equal(count(after), count(before));
      assert.ok(count(await scrape(a)) >= 3);
    });
  });

  describe('what is counted', () => {
    it('counts pushes by MsgType/Event and outcome: handled, retry, refused, failed, unavailable, late', async () => {
      const openid = sim.createUser('推送').openid;
      const before = await scrape();
      const text = driver.textMessage(openid, '绑定');
      assert.equal((await push(a, text)).status, 200);
      assert.equal((await push(a, text)).status, 200); // WeChat's retry of the same MsgId
      clock.advance(1000);
      assert.equal((await push(a, driver.event(openid, 'SCAN', `login_${'b'.repeat(48)}`))).status, 200);
      clock.advance(1000);
      assert.equal((await push(a, driver.event(openid, 'CLICK', 'NO_SUCH_KEY'))).status, 200);
      assert.equal((await push(a, driver.textMessage(openid, 'x'), true)).status, 401);
      clock.advance(1000);
      await withStub(
        a.deps.bindings,
        'setSubscribed',
        () => Promise.reject(new Error('boom')),
        async () => {
          assert.equal((await push(a, driver.event(openid, 'subscribe'))).status, 200);
        },
      );
      clock.advance(1000);
      await withStub(
        a.deps.dedupe,
        'claim',
        () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
        async () => {
          assert.equal((await push(a, driver.event(openid, 'unsubscribe'))).status, 200);
        },
      );
      const after = await scrape();
      const delta = (labels: Record<string, string>) => pushes(after, labels) - pushes(before, labels);
      assert.equal(delta({ msg_type: 'text', event: '', outcome: 'handled' }), 1);
      assert.equal(delta({ msg_type: 'text', event: '', outcome: 'retry' }), 1);
      assert.equal(delta({ msg_type: 'event', event: 'SCAN', outcome: 'handled' }), 1);
      assert.equal(delta({ msg_type: 'event', event: 'CLICK', outcome: 'handled' }), 1);
      assert.equal(delta({ msg_type: 'unknown', event: '', outcome: 'refused' }), 1);
      assert.equal(delta({ msg_type: 'event', event: 'subscribe', outcome: 'failed' }), 1);
      assert.equal(delta({ msg_type: 'event', event: 'unsubscribe', outcome: 'unavailable' }), 1);
      assert.equal(delta({}), 7);

      // App b answers `success` after 100 ms and finishes in the background.
      const lateBefore = pushes(await scrape(b), { outcome: 'late' });
      // The handling is held until the answer is in, then let go; the test awaits its end.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      await withStub(
        b.deps.bindings,
        'setSubscribed',
        async () => {
          await released;
          finish();
          return true;
        },
        async () => {
          clock.advance(1000);
          const res = await push(b, driver.event(openid, 'unsubscribe'));
          assert.equal(res.text, 'success');
          release();
          await finished;
        },
      );
      assert.equal(
        pushes(await scrape(b), { msg_type: 'event', event: 'unsubscribe', outcome: 'late' }) - lateBefore,
        1,
      );
    });

    it('bounds push labels: an unknown MsgType or Event is "other"', async () => {
      const openid = sim.createUser('新类型').openid;
      const before = await scrape();
      await push(a, driver.xml(openid, { MsgType: 'hologram', MsgId: String(Date.now()) }));
      clock.advance(1000);
      await push(a, driver.event(openid, `made_up_${randomBytes(4).toString('hex')}`));
      const after = await scrape();
      assert.equal(
        pushes(after, { msg_type: 'other', event: '' }) - pushes(before, { msg_type: 'other', event: '' }),
        1,
      );
      assert.equal(
        pushes(after, { msg_type: 'event', event: 'other' }) - pushes(before, { msg_type: 'event', event: 'other' }),
        1,
      );
      assert.ok(!(await request(a.app.callback()).get('/metrics')).text.includes('made_up_'));
    });

    it('counts ticket transitions by status entered, and refused ticket actions by reason', async () => {
      const api = () => request(a.app.callback());
      const openid = sim.createUser('扫码').openid;
      const stranger = sim.createUser('旁人').openid;
      const scan = async (who: string, qrContent: string) => {
        clock.advance(1000);
        const res = await push(a, driver.event(who, 'SCAN', sim.qrByUrl(qrContent)!.sceneStr, { Ticket: 'T' }));
        return /confirm\?c=([0-9a-f]{48})/.exec((await driver.readReply(res.text))?.Content ?? '')?.[1];
      };
      const bind = async (who: string, account: TestAccount) =>
        a.deps.db.getRepository(WechatBindingEntity).insert({
          id: randomUUID(),
          accountId: account.account.id,
          openid: who,
          unionid: null,
          nickname: null,
          subscribed: true,
          boundAt: new Date(clock.now()),
        });
      const client = { ip: '127.0.0.1', userAgent: 'test' };
      const before = await scrape();

      const first = (await api().post('/api/login/tickets').set('Authorization', KEY).send({})).body as {
        ticketId: string;
        qrContent: string;
      };
      assert.equal(await scan(openid, first.qrContent), undefined);
      await bind(openid, taxpayer);
      await bind(stranger, await createTestAccount(a.deps));
      const confirmToken = (await scan(openid, first.qrContent))!;
      assert.ok(confirmToken);
      await scan(stranger, first.qrContent);
      assert.equal((await a.deps.login.confirm(confirmToken, stranger, client)).result, 'not_owner');
      assert.equal((await a.deps.login.confirm(confirmToken, openid, client)).result, 'done');
      assert.equal(
        (await api().post(`/api/login/tickets/${first.ticketId}/redeem`).set('Authorization', KEY)).status,
        200,
      );
      assert.equal(
        (await api().post(`/api/login/tickets/${first.ticketId}/redeem`).set('Authorization', KEY)).status,
        409,
      );

      const second = (await api().post('/api/login/tickets').set('Authorization', KEY).send({})).body as {
        ticketId: string;
        qrContent: string;
      };
      assert.equal((await a.deps.login.cancel((await scan(openid, second.qrContent))!, openid, client)).result, 'done');
      assert.equal(
        (await api().post(`/api/login/tickets/${second.ticketId}/redeem`).set('Authorization', KEY)).status,
        409,
      );

      const after = await scrape();
      const moved = (to: string) =>
        valueOf(after, 'etax_login_ticket_transitions_total', { to }) -
        valueOf(before, 'etax_login_ticket_transitions_total', { to });
      const refused = (action: string, reason: string) =>
        valueOf(after, 'etax_login_ticket_rejections_total', { action, reason }) -
        valueOf(before, 'etax_login_ticket_rejections_total', { action, reason });
      assert.deepEqual(
        ['pending', 'needs_binding', 'scanned', 'confirmed', 'cancelled', 'redeemed'].map((to) => [to, moved(to)]),
        [
          ['pending', 2],
          ['needs_binding', 1],
          ['scanned', 2],
          ['confirmed', 1],
          ['cancelled', 1],
          ['redeemed', 1],
        ],
      );
      assert.equal(refused('scan', 'in_use'), 1);
      assert.equal(refused('confirm', 'not_owner'), 1);
      assert.equal(refused('redeem', 'already_redeemed'), 1);
      assert.equal(refused('redeem', 'not_confirmed'), 1);
    });

    it('counts WeChat API calls by api and result, errcodes, transport failures and OAuth exchanges', async () => {
      const api = (t: TestApp) =>
        request(t.app.callback()).post('/api/login/tickets').set('Authorization', KEY).send({});
      const calls = (s: Sample[], labels: Record<string, string>) => valueOf(s, 'etax_wechat_api_calls_total', labels);
      const beforeA = await scrape(a);
      const beforeB = await scrape(b);

      assert.equal((await api(a)).status, 201);
      sim.failNext('/cgi-bin/qrcode/create', { errcode: 45009, errmsg: 'reach max api daily quota limit' });
      assert.equal((await api(a)).status, 503);
      sim.failNext('/cgi-bin/qrcode/create', { status: 502 });
      assert.equal((await api(a)).status, 503);
      sim.failNext('/cgi-bin/qrcode/create', { hangMs: 600 });
      assert.equal((await api(b)).status, 503); // b gives WeChat 200 ms

      const phone = new H5Client(a.app, wechat.url, sim.createUser('网页').openid);
      assert.equal((await phone.open('/h5/bind')).status, 200);
      sim.failNext('/sns/oauth2/access_token', { errcode: 40029, errmsg: 'invalid code' });
      await new H5Client(a.app, wechat.url, sim.createUser('网页2').openid).open('/h5/bind');

      const afterA = await scrape(a);
      const afterB = await scrape(b);
      const deltaA = (name: string, labels: Record<string, string>) =>
        valueOf(afterA, name, labels) - valueOf(beforeA, name, labels);
      assert.equal(
        calls(afterA, { api: 'qrcode/create', result: 'ok' }) - calls(beforeA, { api: 'qrcode/create', result: 'ok' }),
        1,
      );
      assert.equal(
        calls(afterA, { api: 'stable_token', result: 'ok' }) - calls(beforeA, { api: 'stable_token', result: 'ok' }),
        1,
      );
      assert.equal(deltaA('etax_wechat_api_errors_total', { api: 'qrcode/create', errcode: '45009' }), 1);
      assert.equal(deltaA('etax_wechat_api_transport_failures_total', { api: 'qrcode/create', reason: 'http_5xx' }), 1);
      assert.equal(deltaA('etax_wechat_api_calls_total', { api: 'qrcode/create' }), 3);
      assert.equal(deltaA('etax_wechat_api_call_duration_seconds_count', { api: 'qrcode/create' }), 3);
      assert.equal(deltaA('etax_wechat_api_calls_total', { api: 'sns/oauth2/access_token', result: 'ok' }), 1);
      assert.equal(deltaA('etax_wechat_api_errors_total', { api: 'sns/oauth2/access_token', errcode: '40029' }), 1);
      assert.equal(
        valueOf(afterB, 'etax_wechat_api_transport_failures_total', { api: 'qrcode/create', reason: 'timeout' }) -
          valueOf(beforeB, 'etax_wechat_api_transport_failures_total', { api: 'qrcode/create', reason: 'timeout' }),
        1,
      );
    });

    it('observes request latency by method, matched route and status class, never by raw path', async () => {
      const ticketId = randomBytes(24).toString('hex');
      const unknown = `/no/such/${randomUUID()}`;
      const before = await scrape();
      await request(a.app.callback()).get(`/api/login/tickets/${ticketId}`);
      await request(a.app.callback()).get(unknown);
      await request(a.app.callback())
        .delete(`/api/accounts/${randomUUID()}/wechat-bindings/${randomUUID()}`)
        .set('Authorization', KEY);
      await request(a.app.callback()).get(`/api/accounts/${randomUUID()}/wechat-bindings`); // 401 from the router-wide key check
      const res = await request(a.app.callback()).get('/metrics');
      const after = parseExposition(res.text);
      const count = (labels: Record<string, string>) =>
        valueOf(after, 'etax_http_request_duration_seconds_count', labels) -
        valueOf(before, 'etax_http_request_duration_seconds_count', labels);
      assert.equal(count({ method: 'GET', route: '/api/login/tickets/:ticketId', status_class: '4xx' }), 1);
      assert.equal(count({ method: 'GET', route: 'unmatched', status_class: '4xx' }), 1);
      assert.equal(
        count({ method: 'DELETE', route: '/api/accounts/:accountId/wechat-bindings/:bindingId', status_class: '4xx' }),
        1,
      );
      assert.equal(count({ method: 'GET', route: '/api/accounts/:accountId/wechat-bindings', status_class: '4xx' }), 1);
      assert.ok(!res.text.includes(ticketId) && !res.text.includes(unknown));
      const routes = new Set(after.filter((s) => s.name.startsWith('etax_http_')).map((s) => s.labels.route));
      for (const route of routes) assert.ok(route === 'unmatched' || /^\/[A-Za-z0-9_/:{}*.-]*$/.test(route!), route);
      // The buckets reach the long-poll's 30 s.
      assert.ok(after.some((s) => s.name === 'etax_http_request_duration_seconds_bucket' && s.labels.le === '30'));
    });

    it('gauges the long-polls this instance holds', async () => {
      const created = await request(a.app.callback()).post('/api/login/tickets').set('Authorization', KEY).send({});
      const gauge = async () => valueOf(await scrape(), 'etax_login_long_polls');
      assert.equal(await gauge(), 0);
      const held = request(a.app.callback())
        .get(`/api/login/tickets/${created.body.ticketId}?wait=1`)
        .then((res) => res);
      await waitUntil('the long-poll to be held', () => a.deps.ticketChanges.waiting === 1);
      assert.equal(await gauge(), 1);
      assert.equal((await held).status, 200);
      assert.equal(await gauge(), 0);
    });
  });
});
