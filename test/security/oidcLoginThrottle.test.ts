import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { ManualClock } from '../../src/clock/Clock';
import { retryAfterText } from '../../src/security/FormAttemptLimiter';
import { createTestAccount, uniqueIdNumber, uniquePhone, type TestAccount } from '../support/accountFixtures';
import { H5Client } from '../support/H5Client';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { authorizeQuery, clientsFile, openLoginPage, pkcePair, postPassword } from '../oidc/support/oidcFixtures';

/** What a login form's answer tells: status, Retry-After, the alerts on the page, where it leads. */
const answerOf = (res: request.Response) => ({
  status: res.status,
  retryAfter: res.headers['retry-after'] ?? null,
  alerts: [...res.text.matchAll(/role="alert">([^<]*)</g)].map((m) => m[1]!.trim()),
  location: res.headers.location ?? null,
});

/**
 * ASVS V6.3.1 and V6.3.8 on the OpenID Connect provider's 实名用户登录: the page is paced by the same
 * LoginThrottle as every other password form (per typed 登录账号 and client, growing waits, no
 * lockout), answers a paced try as 实名绑定 does (429, Retry-After, the same 请 N 分钟后再试 text),
 * and answers an unknown 登录账号 exactly as a known one, on Redis and on the embedded stores.
 */
for (const stack of ['MariaDB + Redis', 'embedded stores'] as const) {
  describe(`security: the OIDC password page under the login pacing (ASVS V6.3.1, V6.3.8) on ${stack}`, () => {
    const clock = new ManualClock(Date.now());
    const wechat = useSimulatedWeChat(clock);
    let t: TestApp;
    let victim: TestAccount;

    before(async () => {
      const embedded =
        stack === 'embedded stores'
          ? {
              REDIS_URL: 'memory',
              DATABASE_URL: `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'oidc-throttle-')), 'demo.sqlite')}`,
            }
          : {};
      t = await createTestApp({
        clock,
        env: { OIDC_CLIENTS_FILE: clientsFile(), SANDBOX: '1', ...wechat.env(), ...embedded },
      });
    });
    after(() => t?.close());
    beforeEach(async () => {
      await resetState(t.deps);
      victim = await createTestAccount(t.deps, { realName: '林纳税' });
    });

    async function oidcLoginPage() {
      const browser = request.agent(t.app.callback());
      const login = await openLoginPage(browser, authorizeQuery(pkcePair().challenge));
      return (loginName: string, password: string) => postPassword(browser, login, { loginName, password });
    }

    async function bindLogin(client: H5Client, loginName: string, password: string) {
      const page = await client.open('/h5/bind');
      const captcha = await client.captcha('bind-login');
      return client.post('/h5/bind/login', { _csrf: client.csrfToken(page.text), loginName, password, captcha });
    }

    it("V6.3.1: past 5 failures the page answers 429 with Retry-After and 实名绑定's wait text, even for the right password; after the wait the owner gets in", async () => {
      const tryOnPage = await oidcLoginPage();
      for (let i = 0; i < 5; i++) assert.equal((await tryOnPage(victim.idNumber, `guess-${i}`)).status, 401);
      const paced = await tryOnPage(victim.idNumber, victim.password);
      assert.deepEqual(answerOf(paced), {
        status: 429,
        retryAfter: '15',
        alerts: [retryAfterText(15)],
        location: null,
      });

      // 实名绑定's form, paced for its own client (the WeChat user), answers the same way.
      const phone = new H5Client(t.app, wechat.url, wechat.sim.createUser('陌生人').openid);
      for (let i = 0; i < 5; i++) assert.equal((await bindLogin(phone, victim.idNumber, `guess-${i}`)).status, 401);
      const bindPaced = await bindLogin(phone, victim.idNumber, victim.password);
      assert.equal(bindPaced.status, 429);
      assert.equal(bindPaced.headers['retry-after'], paced.headers['retry-after']);
      assert.ok(bindPaced.text.includes(retryAfterText(15)), 'the same wait text');

      clock.advance(15_000);
      const owner = await tryOnPage(victim.idNumber, victim.password);
      assert.equal(owner.status, 303, 'the wait is over: the right password goes through');
      assert.match(owner.headers.location!, /\/oidc\/auth\//);
    });

    it('V6.3.8: an unknown ID number and phone get exactly the answers a known one gets, checked and paced alike', async () => {
      const tryOnPage = await oidcLoginPage();
      const statuses = new Set<number>();
      for (const { known, unknown } of [
        { known: victim.idNumber, unknown: uniqueIdNumber() },
        { known: victim.phone, unknown: uniquePhone() },
      ]) {
        for (let round = 0; round < 8; round++) {
          // The last rounds try the right password: once paced, it must be refused as for an unknown one.
          const password = round >= 6 ? victim.password : `guess-${round}`;
          const onKnown = answerOf(await tryOnPage(known, password));
          const onUnknown = answerOf(await tryOnPage(unknown, password));
          assert.deepEqual(onKnown, onUnknown, `round ${round}`);
          statuses.add(onKnown.status);
        }
      }
      assert.deepEqual([...statuses].sort(), [401, 429], 'checked and paced tries alike');
    });
  });
}
