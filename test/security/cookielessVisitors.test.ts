import assert from 'node:assert/strict';
import request from 'supertest';
import { MemorySessionStore } from '../../src/http/session/MemorySessionStore';
import type { H5SessionData } from '../../src/h5/session/h5Session';
import { OAUTH_STATE_MAX_AGE_SECONDS } from '../../src/h5/oauth/OAuthStateCookie';
import { injector } from '../fuzz/support/inject';
import { visibleText } from '../support/H5Client';
import { redisOf, type TestApp } from '../support/testApp';
import { scanKeys } from '../support/redisScan';
import { testRun } from '../support/testEnv';
import { World } from './support/world';

const WECHAT_BROWSER = 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50';
const VIEWS = 3000;

async function keysUnderPrefix(t: TestApp): Promise<number> {
  let count = 0;
  for await (const keys of scanKeys(redisOf(t.deps), `${testRun.redisPrefix}*`)) count += keys.length;
  return count;
}

/** `count` cookieless page views, as a flood (or a crawler) sends them; every one must go to OAuth. */
async function cookielessViews(t: TestApp, count: number): Promise<void> {
  const inject = injector(t.app);
  for (let i = 0; i < count; i++) {
    const res = await inject({ method: 'GET', url: '/h5/bind', headers: { 'User-Agent': WECHAT_BROWSER } });
    assert.equal(res.status, 302);
  }
}

/**
 * Every cookieless GET of an H5 page used to store a 30-minute session holding the OAuth state
 * (30,000 views: 192 MB of RSS, or 30,000 Redis keys). The state now rides in a signed, 5-minute
 * cookie of the visitor's own, and nothing is stored until OAuth says who the visitor is.
 */
describe('security: cookieless visitors store nothing (ASVS V15.2.2, V7.2.4)', () => {
  describe('on Redis', () => {
    const w = new World();
    before(() => w.start());
    after(() => w.stop());
    beforeEach(() => w.reset());

    it(`V15.2.2: ${VIEWS.toLocaleString('en')} cookieless views of /h5/bind add no Redis key`, async () => {
      const before = await keysUnderPrefix(w.t);
      await cookielessViews(w.t, VIEWS);
      assert.equal(await keysUnderPrefix(w.t), before);
    });

    it('V7.2.4: the round trip still works, and a state cookie that is forged, altered or older than 5 minutes opens nothing', async () => {
      const user = w.newUser();
      const start = await user.agent.get('/h5/bind').set('User-Agent', WECHAT_BROWSER);
      const stateCookie = String(start.headers['set-cookie']).split(';')[0]!;
      const authorize = await request(w.simUrl)
        .get(start.headers.location!.slice(w.simUrl.length))
        .set('X-Sim-Openid', user.openid);
      const back = new URL(authorize.headers.location!);
      const callback = (cookie: string) =>
        request(w.t.app.callback())
          .get(back.pathname + back.search)
          .set('User-Agent', WECHAT_BROWSER)
          .set('Cookie', cookie)
          .then((r) => r);
      const [name, value] = stateCookie.split('=') as [string, string];
      const [payload, mac] = value.split('.') as [string, string];
      const forgedPayload = Buffer.from(
        JSON.stringify({
          ...(JSON.parse(Buffer.from(payload, 'base64url').toString()) as object),
          returnTo: '/h5/register',
        }),
      ).toString('base64url');
      for (const cookie of [
        `${name}=${forgedPayload}.${mac}`,
        `${name}=${payload}.${mac.slice(0, -2)}AA`,
        `${name}=${payload}`,
        '',
      ]) {
        const refused = await callback(cookie);
        assert.equal(refused.status, 400, cookie);
        assert.match(visibleText(refused.text), /重新进入/);
      }
      w.clock.advance(OAUTH_STATE_MAX_AGE_SECONDS * 1000 + 1000);
      assert.equal((await callback(stateCookie)).status, 400, 'past 5 minutes');
      w.clock.advance(-(OAUTH_STATE_MAX_AGE_SECONDS * 1000 + 1000));
      const accepted = await callback(stateCookie);
      assert.equal(accepted.status, 302);
      assert.equal(accepted.headers.location, '/h5/bind');
      const cookies = ([] as string[]).concat(accepted.headers['set-cookie'] as unknown as string[]);
      assert.ok(
        cookies.some((c) => /^etax_h5_oauth=;/.test(c)),
        'the state cookie is cleared',
      );
      const session = cookies.find((c) => c.startsWith('etax_h5='))!.split(';')[0]!;
      const page = await request(w.t.app.callback()).get('/h5/bind').set('Cookie', session);
      assert.equal(page.status, 200);
      assert.match(page.text, /name="loginName"/);
    });
  });

  describe('in memory (REDIS_URL=memory)', () => {
    const w = new World({ env: { REDIS_URL: 'memory' } });
    before(() => w.start());
    after(() => w.stop());

    it(`V15.2.2: ${VIEWS.toLocaleString('en')} cookieless views of /h5/bind hold no session in the process`, async () => {
      const sessions = w.t.deps.sessions as MemorySessionStore<H5SessionData>;
      assert.ok(sessions instanceof MemorySessionStore);
      await cookielessViews(w.t, VIEWS);
      assert.equal(sessions.size, 0);
      // Once identified, a visitor has one.
      assert.equal((await w.newUser().open('/h5/bind')).status, 200);
      assert.equal(sessions.size, 1);
    });
  });
});
