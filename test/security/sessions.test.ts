import assert from 'node:assert/strict';
import Koa from 'koa';
import request from 'supertest';
import { createHash } from 'node:crypto';
import { ManualClock } from '../../src/clock/Clock';
import { loadConfig } from '../../src/config/loadConfig';
import { H5_SESSIONS } from '../../src/h5/session/h5Session';
import { MemorySessionStore } from '../../src/http/session/MemorySessionStore';
import { PORTAL_SESSIONS, portalSession } from '../../src/portal/portalSession';
import { visibleText } from '../support/H5Client';
import { createTestApp, redisOf, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';
import { World } from './support/world';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Set-Cookie lines of an answer, parsed: name, value and the attributes (lower-cased names). */
function cookiesOf(res: request.Response): { name: string; value: string; attributes: Map<string, string> }[] {
  const lines = ([] as string[]).concat((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []);
  return lines.map((line) => {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair!.indexOf('=');
    return {
      name: pair!.slice(0, eq),
      value: pair!.slice(eq + 1),
      attributes: new Map(
        attributes.map((a) => {
          const i = a.indexOf('=');
          return i < 0 ? [a.toLowerCase(), ''] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
        }),
      ),
    };
  });
}

describe('security: session cookies and session lifetime (ASVS V3.3, V7.2, V7.3)', () => {
  describe('cookies behind HTTPS', () => {
    let secure: TestApp;
    const wechat = { 'User-Agent': 'Mozilla/5.0 MicroMessenger/8.0.50', 'X-Forwarded-Proto': 'https' };
    before(async () => {
      secure = await createTestApp({ env: { PUBLIC_URL: 'https://wx.etax.example', PORTAL_DEMO: '1' } });
    });
    after(() => secure.close());

    /**
     * Every session cookie the app sets on its first answers: the H5 OAuth state cookie (the H5
     * session itself comes only once OAuth names the user: test/binding/bindFlow.test.ts "behind
     * HTTPS") and the reference portal's.
     */
    async function sessionCookies() {
      const api = request(secure.app.callback());
      const h5 = cookiesOf(await api.get('/h5/bind').set(wechat));
      const portal = cookiesOf(await api.get('/portal/captcha').set('X-Forwarded-Proto', 'https'));
      return [...h5, ...portal];
    }

    it('V3.3.1: sets every session cookie Secure, under the __Host- prefix (also test/binding/bindFlow.test.ts "behind HTTPS")', async () => {
      const cookies = await sessionCookies();
      assert.deepEqual(cookies.map((c) => c.name).sort(), ['__Host-etax_h5_oauth', '__Host-etax_portal']);
      for (const cookie of cookies) assert.ok(cookie.attributes.has('secure'), `${cookie.name} is Secure`);
    });

    it("V3.3.2: sets SameSite=Lax, so a cross-site POST carries no session while WeChat's OAuth redirect back (a top-level GET) still does", async () => {
      for (const cookie of await sessionCookies())
        assert.equal(cookie.attributes.get('samesite')?.toLowerCase(), 'lax', cookie.name);
      // Strict would drop the cookie on the navigation back from open.weixin.qq.com, so the
      // callback could not check its state; Lax refuses it to cross-site POSTs (and every state
      // change is a POST with a CSRF token: V3.5.1, V3.5.3 in requestForgery.test.ts).
    });

    it('V3.3.3: keeps __Host- cookies host-only: Path=/ and no Domain', async () => {
      for (const cookie of await sessionCookies()) {
        assert.equal(cookie.attributes.get('path'), '/', cookie.name);
        assert.ok(!cookie.attributes.has('domain'), `${cookie.name} has no Domain`);
      }
    });

    it('V3.3.4: sets every session cookie HttpOnly, and a session id travels only in Set-Cookie (never in a page, a URL or a JSON answer)', async () => {
      for (const cookie of await sessionCookies()) {
        assert.ok(cookie.attributes.has('httponly'), `${cookie.name} is HttpOnly`);
        assert.ok(`${cookie.name}=${cookie.value}`.length < 4096, 'V3.3.5: well under 4096 bytes');
      }
    });

    it('V3.3.1: refuses to start in production without an https PUBLIC_URL, so production cookies are always Secure', () => {
      assert.throws(
        () =>
          loadConfig(
            testEnvironment({
              NODE_ENV: 'production',
              SANDBOX: '0',
              PUBLIC_URL: 'http://wx.etax.example',
              SMS_PROVIDER: 'tencentcloud',
            }),
          ),
        /PUBLIC_URL/,
      );
    });
  });

  describe('the H5 session', () => {
    const w = new World();
    before(() => w.start());
    after(() => w.stop());
    beforeEach(() => w.reset());

    it('V3.3.4: never shows the session id in a page, a redirect or a link while walking 实名绑定', async () => {
      const taxpayer = await w.quickAccount();
      const user = w.newUser();
      const seen: request.Response[] = [];
      const ids = new Set<string>();
      const step = async (res: Promise<request.Response>) => {
        seen.push(await res);
        const cookie = user.sessionCookie();
        if (cookie) ids.add(cookie.split('=')[1]!);
      };
      await step(user.agent.get('/h5/bind').then((r) => r));
      await step(user.open('/h5/bind'));
      await step(w.bindLogin(user, taxpayer.idNumber, taxpayer.password));
      await step(user.open('/h5/bind'));
      await step(w.requestBindSms(user, taxpayer.phone));
      const page = await user.open('/h5/bind');
      await step(
        user.post('/h5/bind/confirm', {
          _csrf: user.csrfToken(page.text),
          phone: taxpayer.phone,
          smsCode: w.smsCodeFor(taxpayer.phone)!,
        }),
      );
      await step(user.open('/h5/bind/done'));
      assert.ok(ids.size >= 2, 'the id changed along the way');
      for (const res of seen) {
        for (const id of ids) {
          assert.ok(!res.text.includes(id), 'not in the body');
          assert.ok(!String(res.headers.location ?? '').includes(id), 'not in a redirect');
        }
      }
    });

    it('V7.2.4: issues a new session id (and CSRF token) when OAuth identifies the WeChat user and again after 登录, and kills the old ones (also bindFlow "renews the session id after the login step")', async () => {
      const taxpayer = await w.quickAccount();
      const user = w.newUser();
      // Before OAuth the state lives in a signed cookie only: no anonymous session to fixate.
      const first = await user.agent.get('/h5/bind');
      assert.deepEqual(
        cookiesOf(first).map((c) => c.name),
        ['etax_h5_oauth'],
      );
      const anonymous = cookiesOf(first)[0]!.value;
      await user.open('/h5/bind');
      const identified = user.sessionCookie()!.split('=')[1]!;
      const page = await user.open('/h5/bind');
      const csrfBefore = user.csrfToken(page.text);
      const login = await user.post('/h5/bind/login', {
        _csrf: csrfBefore,
        loginName: taxpayer.idNumber,
        password: taxpayer.password,
        captcha: await user.captcha('bind-login'),
      });
      assert.equal(login.status, 302);
      const authenticated = user.sessionCookie()!.split('=')[1]!;
      assert.notEqual(authenticated, identified, 'new id after 登录');
      assert.notEqual(user.csrfToken((await user.open('/h5/bind')).text), csrfBefore, 'new CSRF token');
      for (const old of [`etax_h5=${anonymous}`, `etax_h5_oauth=${anonymous}`, `etax_h5=${identified}`]) {
        const res = await request(w.t.app.callback()).get('/h5/bind').set('Cookie', old);
        assert.equal(res.status, 302, 'an old id opens nothing: back to OAuth');
        assert.ok(res.headers.location!.startsWith(w.simUrl));
      }
      // The step-1 login stays with the new id only.
      assert.match(visibleText((await user.open('/h5/bind')).text), /手机号码/);
    });

    it(`V7.3.1: ends the session after ${H5_SESSIONS.idleSeconds / 60} idle minutes (re-authentication through OAuth; a form post is refused); activity slides it`, async () => {
      const user = w.newUser();
      await user.open('/h5/bind');
      const cookie = user.sessionCookie()!;
      const key = w.t.deps.keys.key('h5', 'session', createHash('sha256').update(cookie.split('=')[1]!).digest('hex'));
      const ttl = await redisOf(w.t.deps).ttl(key);
      assert.ok(ttl > 0 && ttl <= H5_SESSIONS.idleSeconds, `Redis forgets it by itself too (TTL ${ttl} s)`);
      // Activity every 29 minutes keeps it, for two hours.
      for (let i = 0; i < 4; i++) {
        w.clock.advance(29 * MINUTE);
        const res = await request(w.t.app.callback()).get('/h5/bind').set('Cookie', cookie);
        assert.equal(res.status, 200, `active after ${(i + 1) * 29} minutes`);
      }
      const page = await request(w.t.app.callback()).get('/h5/bind').set('Cookie', cookie);
      w.clock.advance(30 * MINUTE + 1000);
      const afterIdle = await request(w.t.app.callback()).get('/h5/bind').set('Cookie', cookie);
      assert.equal(afterIdle.status, 302, 'idle past 30 minutes: OAuth again');
      assert.ok(afterIdle.headers.location!.startsWith(w.simUrl));
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
      const post = await request(w.t.app.callback())
        .post('/h5/bind/login')
        .set('Cookie', cookie)
        .type('form')
        .send({ _csrf: csrf, loginName: 'a', password: 'b', captcha: 'c' });
      assert.ok(post.status === 401 || post.status === 403, 'a post with the expired session is refused');
      assert.match(visibleText(post.text), /页面已过期/);
      assert.equal(await redisOf(w.t.deps).exists(key), 0, 'and it is gone from Redis');
    });

    it(`V7.3.2: ends the session ${H5_SESSIONS.absoluteSeconds / 3600} hours after it began however active it is`, async () => {
      const user = w.newUser();
      await user.open('/h5/bind');
      const cookie = user.sessionCookie()!;
      const started = w.clock.now();
      while (w.clock.now() - started < H5_SESSIONS.absoluteSeconds * 1000 - 20 * MINUTE) {
        w.clock.advance(20 * MINUTE);
        assert.equal(
          (await request(w.t.app.callback()).get('/h5/bind').set('Cookie', cookie)).status,
          200,
          `alive at ${(w.clock.now() - started) / HOUR} h`,
        );
      }
      w.clock.set(started + H5_SESSIONS.absoluteSeconds * 1000 + 1000);
      const late = await request(w.t.app.callback()).get('/h5/bind').set('Cookie', cookie);
      assert.equal(late.status, 302, 'past 8 hours: OAuth again');
      assert.ok(late.headers.location!.startsWith(w.simUrl));
    });

    it("V7.3.1: asks for 登录 again when 实名绑定's step 2 is reached 15 minutes or more after it", async () => {
      const taxpayer = await w.quickAccount();
      const user = w.newUser();
      assert.equal((await w.bindLogin(user, taxpayer.idNumber, taxpayer.password)).status, 302);
      w.clock.advance(15 * MINUTE + 1000);
      const page = await user.open('/h5/bind');
      assert.match(page.text, /name="loginName"/, 'back at step 1');
      const sms = await user.post('/h5/bind/sms', { _csrf: user.csrfToken(page.text), phone: taxpayer.phone });
      assert.equal(sms.status, 401);
      assert.match(visibleText(sms.text), /登录已超时/);
    });
  });

  describe("the reference portal's session", () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
    const app = new Koa();
    app.use(portalSession({ store: new MemorySessionStore(clock), clock, secure: false }));
    app.use((ctx) => {
      ctx.body =
        ctx.path === '/start'
          ? ctx.state.portalSession.ensure().csrfToken
          : (ctx.state.portalSession.data?.csrfToken ?? 'none');
    });
    const agent = () => request.agent(app.callback());

    it(`V7.3.1: ends after ${PORTAL_SESSIONS.idleSeconds / 60} idle minutes; activity slides it`, async () => {
      const browser = agent();
      const token = (await browser.get('/start')).text;
      clock.advance(29 * MINUTE);
      assert.equal((await browser.get('/')).text, token);
      clock.advance(29 * MINUTE);
      assert.equal((await browser.get('/')).text, token, 'slid by the last request');
      clock.advance(30 * MINUTE + 1000);
      assert.equal((await browser.get('/')).text, 'none');
    });

    it(`V7.3.2: ends ${PORTAL_SESSIONS.absoluteSeconds / 3600} hours after it began however active it is`, async () => {
      const browser = agent();
      const token = (await browser.get('/start')).text;
      const started = clock.now();
      while (clock.now() - started < PORTAL_SESSIONS.absoluteSeconds * 1000 - 20 * MINUTE) {
        clock.advance(20 * MINUTE);
        assert.equal((await browser.get('/')).text, token);
      }
      clock.set(started + PORTAL_SESSIONS.absoluteSeconds * 1000 + 1000);
      assert.equal((await browser.get('/')).text, 'none');
    });
  });
});
