import assert from 'node:assert/strict';
import request from 'supertest';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { ManualClock } from '../../src/clock/Clock';
import { uniqueIdNumber, uniquePhone, createTestAccount, type TestAccount } from '../support/accountFixtures';
import { H5Client, visibleText } from '../support/H5Client';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const KEY = `Bearer ${testEnvironment().PORTAL_API_KEYS}`;
const STRANGER_IP = '203.0.113.66';
const OWNER_IP = '198.51.100.7';
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * ASVS V6.3.1 (brute force without a denial of service on the owner) and V6.3.8 (no account
 * enumeration) against malicious lockout: a stranger hammering a victim's semi-public ID number and
 * phone, on the real app with the reference portal, on Redis and on the embedded stores.
 */
for (const stack of [
  { name: 'MariaDB + Redis', env: {} },
  { name: 'embedded stores (REDIS_URL=memory)', env: { REDIS_URL: 'memory' } },
]) {
  describe(`security: failed logins are paced, never locked (ASVS V6.3.1, V6.3.8) on ${stack.name}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
    let live: TestApp & { url: string };
    let victim: TestAccount;

    before(async () => {
      live = await startLiveApp({ clock, env: { PORTAL_DEMO: '1', ...stack.env } });
    });
    after(() => live?.close());
    beforeEach(async () => {
      await resetState(live.deps);
      clock.advance(2 * 86_400_000);
      victim = await createTestAccount(live.deps, { realName: '林纳税' });
    });

    const authenticate = (loginName: string, password: string, clientIp: string) =>
      request(live.app.callback())
        .post('/api/accounts/authenticate')
        .set('Authorization', KEY)
        .send({ loginName, password, clientIp });
    const answerOf = (res: request.Response) => ({
      status: res.status,
      body: res.body as unknown,
      retryAfter: res.headers['retry-after'] ?? null,
    });

    /** The stranger's patient attack from one client: every wait sat out, `failures` wrong passwords checked. */
    async function hammer(identifier: string, failures: number): Promise<number[]> {
      const waits: number[] = [];
      for (let checked = 0; checked < failures;) {
        const res = await authenticate(identifier, `guess-${checked}`, STRANGER_IP);
        if (res.status === 429) {
          waits.push(Number(res.headers['retry-after']));
          clock.advance(Number(res.headers['retry-after']) * 1000);
          continue;
        }
        assert.equal(res.status, 401, `try ${checked}: ${res.text}`);
        checked += 1;
      }
      return waits;
    }

    async function portalLogin(loginName: string, password: string) {
      const browser = request.agent(live.url);
      const page = await browser.get('/portal/login?tab=password');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
      const captcha = (await browser.get('/portal/captcha')).headers['x-sandbox-captcha'] as string;
      return browser.post('/portal/login/password').type('form').send({ _csrf: csrf, loginName, password, captcha });
    }

    async function bindLogin(client: H5Client, loginName: string, password: string) {
      const page = await client.open('/h5/bind');
      const captcha = await client.captcha('bind-login');
      return client.post('/h5/bind/login', { _csrf: client.csrfToken(page.text), loginName, password, captcha });
    }

    it('V6.3.1: a stranger failing 55 times on the ID number and 55 on the phone from one client cannot keep the owner out: API, 实名绑定 and portal let the owner in at once', async () => {
      const waitsOnId = await hammer(victim.idNumber, 55);
      const waitsOnPhone = await hammer(victim.phone, 55);
      for (const waits of [waitsOnId, waitsOnPhone]) {
        assert.equal(waits[0], 15, 'the first wait');
        assert.ok(
          waits.every((wait, i) => i === 0 || wait >= waits[i - 1]!),
          `waits only grow: ${waits.join()}`,
        );
        assert.equal(waits.at(-1), 900, 'up to the cap');
      }
      // The stranger is still made to wait on the phone just hammered, even with the right password…
      const stranger = await authenticate(victim.phone, victim.password, STRANGER_IP);
      assert.equal(stranger.status, 429);
      assert.deepEqual(stranger.body, {
        error: {
          code: 'too_many_attempts',
          message: 'too many failed logins from this client for this login name: try again later',
        },
      });
      // …while the owner, from clients that have not been failing, gets in at once, the clock unmoved.
      for (const identifier of [victim.idNumber, victim.phone]) {
        const owner = await authenticate(identifier, victim.password, OWNER_IP);
        assert.equal(owner.status, 200, `API by ${identifier === victim.phone ? 'phone' : 'ID number'}`);
        assert.equal((owner.body as { account: { id: string } }).account.id, victim.account.id);
      }
      const portal = await portalLogin(victim.phone, victim.password);
      assert.equal(portal.status, 303, visibleText(portal.text));
      assert.equal(portal.headers.location, '/portal/');
      const wechatUser = live.deps.simulator!.createUser('林纳税');
      const phone = new H5Client(live.app, `${live.url}/sandbox/wechat`, wechatUser.openid);
      const bound = await bindLogin(phone, victim.idNumber, victim.password);
      assert.equal(bound.status, 302, visibleText(bound.text));
      assert.equal(bound.headers.location, '/h5/bind');
    });

    it('V6.3.1: past 50 failures on an identifier from all clients, a client that has failed once waits 60 s; one that has not never waits', async () => {
      for (let i = 0; i < 50; i++)
        assert.equal((await authenticate(victim.idNumber, 'botnet-guess', `203.0.113.${i + 1}`)).status, 401);
      const failedOnce = await authenticate(victim.idNumber, victim.password, '203.0.113.1');
      assert.equal(failedOnce.status, 429);
      assert.equal(failedOnce.headers['retry-after'], '60');
      assert.equal((await authenticate(victim.idNumber, victim.password, OWNER_IP)).status, 200);
      clock.advance(60_000);
      assert.equal((await authenticate(victim.idNumber, victim.password, '203.0.113.1')).status, 200);
    });

    it('V6.3.8: answers an unknown ID number and phone exactly as a known one (status, body, Retry-After) before and after many failures, in the same time class', async () => {
      const pairs = [
        { known: victim.idNumber, unknown: uniqueIdNumber() },
        { known: victim.phone, unknown: uniquePhone() },
      ];
      const times = { known: [] as number[], unknown: [] as number[] };
      const statuses = new Set<number>();
      for (const { known, unknown } of pairs) {
        for (let round = 0; round < 24; round++) {
          // The last rounds try the right password: after the failures it must be refused as an unknown one is.
          const password = round >= 20 ? victim.password : `guess-${round}`;
          const started = process.hrtime.bigint();
          const onKnown = await authenticate(known, password, '203.0.113.10');
          const middle = process.hrtime.bigint();
          const onUnknown = await authenticate(unknown, password, '203.0.113.11');
          const ended = process.hrtime.bigint();
          assert.deepEqual(answerOf(onKnown), answerOf(onUnknown), `round ${round}`);
          assert.notEqual(onKnown.status, 200, 'never let in from the failing client before its wait is over');
          statuses.add(onKnown.status);
          if (onKnown.status === 401) {
            times.known.push(Number(middle - started) / 1e6);
            times.unknown.push(Number(ended - middle) / 1e6);
          }
          // Half the wait: some tries come too early, and they too must answer alike.
          if (onKnown.status === 429) clock.advance((Number(onKnown.headers['retry-after']) * 1000) / 2 + 1);
        }
      }
      assert.deepEqual([...statuses].sort(), [401, 429], 'checked and refused tries alike');
      // An unknown account costs a (dummy) argon2id verification too; a refusal costs neither.
      const [known, unknown] = [median(times.known), median(times.unknown)];
      assert.ok(
        unknown > known / 3 && unknown < known * 3,
        `similar times: unknown ${unknown.toFixed(1)} ms, known ${known.toFixed(1)} ms`,
      );
    });

    it("V6.3.1: caps the portal's 实名用户登录 at 10 tries per browser session in 15 minutes, before any captcha or password is checked", async () => {
      const browser = request.agent(live.url);
      const page = await browser.get('/portal/login?tab=password');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
      const statuses = [];
      for (let i = 0; i < 12; i++) {
        const captcha = (await browser.get('/portal/captcha')).headers['x-sandbox-captcha'] as string;
        const res = await browser
          .post('/portal/login/password')
          .type('form')
          .send({ _csrf: csrf, loginName: `${uniquePhone()}`, password: 'stuffed-password', captcha });
        statuses.push(res.status);
        if (res.status === 429) {
          assert.match(visibleText(res.text), /尝试次数过多，请 \d+ 分钟后再试/);
          assert.ok(Number(res.headers['retry-after']) > 0);
        }
      }
      assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429, 429]);
      const checked = await live.deps.db.getRepository(AuditEventEntity).countBy({ type: 'authenticate_failed' });
      assert.equal(checked, 10, 'the refused tries never reached the API');
      assert.equal(
        (await portalLogin(victim.idNumber, victim.password)).status,
        303,
        'another session is not affected',
      );
    });
  });
}
