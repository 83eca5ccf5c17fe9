import assert from 'node:assert/strict';
import Koa from 'koa';
import request from 'supertest';
import { ManualClock } from '../../../src/clock/Clock';
import { cookieSession, type CookieSession, type CookieSessionUse } from '../../../src/http/session/cookieSession';
import { MemorySessionStore } from '../../../src/http/session/MemorySessionStore';
import type { SessionData, SessionStore } from '../../../src/http/session/SessionStore';

interface Data extends SessionData {
  note?: string;
}

const MINUTE = 60_000;
const setCookies = (res: request.Response) =>
  ([] as string[]).concat((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []);
const valueOf = (line: string) => line.slice(line.indexOf('=') + 1, line.indexOf(';'));

/**
 * The one cookie session behind the H5 pages (h5Session) and the reference portal (portalSession);
 * what each use sets is tested with it in test/security/sessions.test.ts, test/binding and test/portal.
 */
describe('http: cookieSession', () => {
  function world({ secure = false, ...use }: Partial<CookieSessionUse> & { secure?: boolean } = {}) {
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
    const store = new MemorySessionStore<Data>(clock);
    const writes: string[] = [];
    const recorded: SessionStore<Data> = {
      get: (id) => store.get(id),
      set: async (id, data, ttl) => {
        writes.push(id);
        await store.set(id, data, ttl);
      },
      destroy: (id) => store.destroy(id),
      destroyForAccount: (accountId) => store.destroyForAccount(accountId),
    };
    const app = new Koa();
    app.use(
      cookieSession<Data>(
        {
          cookieName: 'test_sid',
          stateKey: 'testSession',
          namespace: 'test',
          idleSeconds: 30 * 60,
          absoluteSeconds: 8 * 3600,
          saveChanges: false,
          ...use,
        },
        { store: recorded, clock, secure },
      ),
    );
    app.use(async (ctx) => {
      const session = (ctx.state as unknown as { testSession: CookieSession<Data> }).testSession;
      switch (ctx.path) {
        case '/start':
          session.ensure();
          break;
        case '/note':
          session.data!.note = String(ctx.query.text);
          break;
        case '/note-touch':
          session.data!.note = String(ctx.query.text);
          session.touch();
          break;
        case '/regenerate':
          await session.regenerate();
          break;
        case '/logout':
          await session.destroy();
          session.ensure().note = 'after logout';
          break;
        case '/adopt':
          session.adopt(String(ctx.query.id));
          break;
        default:
          break;
      }
      ctx.body = {
        id: session.id,
        expired: session.expired,
        note: session.data?.note ?? null,
        csrf: session.data?.csrfToken ?? null,
      };
    });
    return { app, clock, store, writes, agent: request.agent(app.callback()) };
  }

  it('sets a 256-bit id in an HttpOnly, SameSite=Lax, Path=/ cookie named by the use; behind HTTPS Secure with the __Host- prefix', async () => {
    const plain = setCookies(await request(world().app.callback()).get('/start'));
    assert.equal(plain.length, 1);
    assert.match(plain[0]!, /^test_sid=[A-Za-z0-9_-]{43}; path=\/; samesite=lax; httponly$/);
    const secure = setCookies(await request(world({ secure: true }).app.callback()).get('/start'));
    assert.match(secure[0]!, /^__Host-test_sid=[A-Za-z0-9_-]{43}; path=\/; samesite=lax; secure; httponly$/);
    assert.deepEqual(setCookies(await request(world().app.callback()).get('/')), [], 'no session, no cookie');
  });

  it('with saveChanges off writes a change back only after touch(); with it on, whenever the data changed', async () => {
    for (const saveChanges of [false, true]) {
      const w = world({ saveChanges });
      await w.agent.get('/start');
      await w.agent.get('/note?text=untouched');
      assert.equal((await w.agent.get('/')).body.note, saveChanges ? 'untouched' : null, `saveChanges ${saveChanges}`);
      await w.agent.get('/note-touch?text=touched');
      assert.equal((await w.agent.get('/')).body.note, 'touched');
    }
  });

  it('writes an unchanged session back at most once a minute (sliding idle timeout)', async () => {
    const w = world();
    await w.agent.get('/start');
    w.writes.length = 0;
    w.clock.advance(30_000);
    await w.agent.get('/');
    assert.equal(w.writes.length, 0);
    w.clock.advance(31_000);
    await w.agent.get('/');
    assert.equal(w.writes.length, 1);
  });

  it('ends a session after the idle or the absolute timeout, and says the cookie expired', async () => {
    const w = world();
    const first = (await w.agent.get('/start')).body;
    w.clock.advance(29 * MINUTE);
    assert.equal((await w.agent.get('/')).body.csrf, first.csrf);
    w.clock.advance(30 * MINUTE + 1000);
    assert.deepEqual((await w.agent.get('/')).body, { id: null, expired: true, note: null, csrf: null });
    const started = w.clock.now();
    await w.agent.get('/start');
    while (w.clock.now() - started < 8 * 3600_000 - 20 * MINUTE) {
      w.clock.advance(20 * MINUTE);
      assert.ok((await w.agent.get('/')).body.id);
    }
    w.clock.set(started + 8 * 3600_000 + 1000);
    assert.equal((await w.agent.get('/')).body.expired, true);
  });

  it('takes a malformed or unknown cookie for an expired session', async () => {
    const w = world();
    assert.equal((await request(w.app.callback()).get('/').set('Cookie', 'test_sid=short')).body.expired, true);
    assert.equal(
      (
        await request(w.app.callback())
          .get('/')
          .set('Cookie', `test_sid=${'A'.repeat(43)}`)
      ).body.expired,
      true,
    );
    assert.equal((await request(w.app.callback()).get('/')).body.expired, false, 'no cookie is not an expired one');
  });

  it('regenerate() gives a new id and CSRF token, keeps the data and destroys the old id', async () => {
    const w = world();
    const before = (await w.agent.get('/start')).body;
    await w.agent.get('/note-touch?text=kept');
    const after = (await w.agent.get('/regenerate')).body;
    assert.notEqual(after.id, before.id);
    assert.notEqual(after.csrf, before.csrf);
    assert.equal(after.note, 'kept');
    assert.equal(await w.store.get(before.id), null);
    assert.equal((await w.agent.get('/')).body.note, 'kept');
  });

  it('destroy() forgets the session; a session started afterwards in the same request is a new one, and kept', async () => {
    const w = world();
    const before = (await w.agent.get('/start')).body;
    const res = await w.agent.get('/logout');
    assert.equal(await w.store.get(before.id), null);
    assert.notEqual(res.body.id, before.id);
    assert.equal((await w.agent.get('/')).body.note, 'after logout');
  });

  it('adopt() answers with the cookie of another session and writes nothing', async () => {
    const w = world();
    const other = (await request(w.app.callback()).get('/start')).body;
    await w.agent.get('/start');
    w.writes.length = 0;
    const res = await w.agent.get(`/adopt?id=${other.id}`);
    assert.equal(valueOf(setCookies(res)[0]!), other.id);
    assert.equal(w.writes.length, 0);
    assert.equal((await w.agent.get('/')).body.id, other.id);
  });
});
