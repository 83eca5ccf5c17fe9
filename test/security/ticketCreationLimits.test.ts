import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Counter } from 'prom-client';
import request from 'supertest';
import { ManualClock } from '../../src/clock/Clock';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';
import { testEnvironment, testRun } from '../support/testEnv';

const env = testEnvironment();
const KEY = `Bearer ${env.PORTAL_API_KEYS}`;
const BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

/** The production limits: the test environment's generous ones taken away. */
const PRODUCTION_LIMITS = { LOGIN_TICKETS_PER_IP_PER_MINUTE: undefined, LOGIN_TICKETS_PER_KEY_PER_MINUTE: undefined };

/** Login tickets this instance has created so far (its metric of tickets entering `pending`). */
async function ticketsCreated(t: TestApp): Promise<number> {
  const counter = t.deps.metrics.registry.getSingleMetric('etax_login_ticket_transitions_total') as Counter;
  const { values } = await counter.get();
  return values.find((v) => v.labels.to === 'pending')?.value ?? 0;
}

const stacks: [string, (file: string) => Record<string, string>][] = [
  ['MariaDB + Redis', () => ({})],
  ['SQLite + in-memory stores (the demo)', (file) => ({ DATABASE_URL: `sqlite:${file}`, REDIS_URL: 'memory' })],
];

for (const [stack, stackEnv] of stacks) {
  describe(`security: nobody burns the QR budget by asking for login tickets (${stack})`, function () {
    this.timeout(60_000);
    const file = path.join(tmpdir(), `etax-${testRun.id}-ticket-limits.sqlite`);
    const cleanUp = () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    };

    describe('the reference portal', () => {
      let live: TestApp & { url: string };
      before(async () => {
        live = await startLiveApp({ env: { ...stackEnv(file), PORTAL_DEMO: '1', ...PRODUCTION_LIMITS } });
      });
      after(async () => {
        await live?.close();
        cleanUp();
      });
      beforeEach(() => resetState(live.deps));

      it('V2.4.1 30 cookieless GETs of its login page create no ticket (and so no QR code)', async () => {
        const before = await ticketsCreated(live);
        for (let i = 0; i < 30; i++) {
          const page = await request(live.url).get('/portal/login').set('User-Agent', BROWSER);
          assert.equal(page.status, 200);
          assert.match(page.text, /data-state="waiting"/);
          assert.doesNotMatch(page.text, /showqrcode/);
        }
        assert.equal(await ticketsCreated(live), before);
      });

      it("V2.4.1 one browser session holds one live ticket: its page's 30 reloads and 30 requests for a QR code reuse it", async () => {
        const browser = request.agent(live.url);
        const first = await browser.get('/portal/login').set('User-Agent', BROWSER);
        const csrf = /name="_csrf" value="([^"]+)"/.exec(first.text)![1]!;
        const before = await ticketsCreated(live);
        const asked = new Set<string>();
        for (let i = 0; i < 30; i++) {
          const json = await browser
            .post('/portal/login/qrcode')
            .set('User-Agent', BROWSER)
            .set('Accept', 'application/json')
            .type('form')
            .send({ _csrf: csrf });
          assert.equal(json.status, 200, json.text);
          asked.add(json.body.ticketId as string);
          const page = await browser.get('/portal/login').set('User-Agent', BROWSER);
          asked.add(/data-ticket="([0-9a-f]{48})"/.exec(page.text)![1]!);
        }
        assert.equal(asked.size, 1);
        assert.equal(await ticketsCreated(live), before + 1);
      });
    });

    describe('POST /api/login/tickets', () => {
      let t: TestApp & { url: string };
      // Mid-minute on a clock of the test's own: the 100 creations all fall in one window.
      const clock = new ManualClock(Date.UTC(2026, 11, 1, 2, 0, 30));
      const start = (limits: Record<string, string | undefined>) =>
        startLiveApp({ clock, env: { ...stackEnv(file), ...limits } });
      afterEach(async () => {
        await t?.close();
        cleanUp();
      });
      const create = (clientIp?: string) =>
        request(t.url)
          .post('/api/login/tickets')
          .set('Authorization', KEY)
          .send(clientIp ? { clientIp } : {});

      it('V2.4.1 100 creations for one browser IP: 30 a minute (the production default), then 429 too_many_requests with Retry-After', async () => {
        t = await start(PRODUCTION_LIMITS);
        await resetState(t.deps);
        const statuses: number[] = [];
        let refused: request.Response | undefined;
        for (let i = 0; i < 100; i++) {
          const res = await create('198.51.100.77');
          statuses.push(res.status);
          if (res.status === 429) refused ??= res;
        }
        assert.equal(statuses.filter((s) => s === 201).length, 30, JSON.stringify(statuses));
        assert.equal(statuses.filter((s) => s === 429).length, 70);
        assert.deepEqual(refused!.body, {
          error: { code: 'too_many_requests', message: 'too many login tickets were requested; try again later' },
        });
        const retryAfter = Number(refused!.headers['retry-after']);
        assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
        assert.equal((await create('198.51.100.78')).status, 201, 'another browser is not held up');
        clock.advance(60_000);
        assert.equal((await create('198.51.100.77')).status, 201, 'the next minute it may ask again');
      });

      it('V2.4.1 caps each portal (key) per minute, whatever IPs it reports', async () => {
        t = await start({ LOGIN_TICKETS_PER_IP_PER_MINUTE: '1000', LOGIN_TICKETS_PER_KEY_PER_MINUTE: '5' });
        await resetState(t.deps);
        for (let i = 0; i < 5; i++) assert.equal((await create(`203.0.113.${i + 1}`)).status, 201);
        const refused = await create('203.0.113.99');
        assert.equal(refused.status, 429);
        assert.equal(refused.body.error.code, 'too_many_requests');
        assert.equal((await create()).status, 429);
      });

      it('counts nothing for a creation refused for its body or key', async () => {
        t = await start({ LOGIN_TICKETS_PER_KEY_PER_MINUTE: '2' });
        await resetState(t.deps);
        for (let i = 0; i < 5; i++) {
          const bad = await request(t.url)
            .post('/api/login/tickets')
            .set('Authorization', KEY)
            .send({ clientIp: 'not an ip' });
          assert.equal(bad.status, 400);
          const keyless = await request(t.url).post('/api/login/tickets').send({});
          assert.equal(keyless.status, 401);
        }
        assert.equal((await create('203.0.113.5')).status, 201);
        assert.equal((await create('203.0.113.6')).status, 201);
      });
    });
  });
}
