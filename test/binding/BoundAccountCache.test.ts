import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { bindingChangeId, type BindingChangeFeed } from '../../src/binding/BindingChangeFeed';
import { BindingService } from '../../src/binding/BindingService';
import { BoundAccountCache } from '../../src/binding/BoundAccountCache';
import { RedisBindingChangeFeed } from '../../src/binding/RedisBindingChangeFeed';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { subscribe } from '../../src/store/RedisSubscription';
import type { Dependencies } from '../../src/dependencies';
import { FormatOnlyIdentityVerifier } from '../../src/registration/IdentityVerifier';
import { RegistrationService } from '../../src/registration/RegistrationService';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { WeChatSimulator } from '../../src/sandbox/simulator/WeChatSimulator';
import { createTestAccount, uniqueIdNumber, uniquePhone } from '../support/accountFixtures';
import { createTestApp, listen, redisOf, resetState, type TestApp } from '../support/testApp';
import { testEnvironment, testRun } from '../support/testEnv';
import { PrivateRedis } from '../reliability/support/PrivateRedis';

const env = testEnvironment();
const KEY = `Bearer ${env.PORTAL_API_KEYS}`;
const context = { ip: '203.0.113.9', userAgent: 'MicroMessenger/8.0' };

/** Counts the statements sent to the database that read or write wechat_bindings (a typeorm subscriber sees every query). */
function countBindingQueries(db: DataSource): { readonly count: number } {
  const counter = { count: 0 };
  db.subscribers.push({
    beforeQuery(event: { query: string }) {
      if (/wechat_bindings/i.test(event.query)) counter.count += 1;
    },
  });
  return counter;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The services app.ts builds, wired the same way (their writes announce through `deps.boundAccounts`). */
function servicesOf(deps: Dependencies) {
  const bindingService = new BindingService({
    db: deps.db,
    audit: deps.audit,
    clock: deps.clock,
    logger: deps.logger,
    maxBindingsPerAccount: deps.config.maxBindingsPerAccount,
    changes: deps.boundAccounts,
  });
  const registration = new RegistrationService({
    db: deps.db,
    accounts: deps.accounts,
    bindingService,
    audit: deps.audit,
    protector: deps.protector,
    logger: deps.logger,
    verifier: new FormatOnlyIdentityVerifier(deps.clock),
  });
  return { bindingService, registration };
}

describe("binding: BoundAccountCache (the scan hot path's binding lookup)", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  const sim = new WeChatSimulator({ appId: env.WECHAT_APPID!, appSecret: env.WECHAT_APPSECRET!, clock });
  const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock });
  let simServer: Awaited<ReturnType<typeof listen>>;
  const simEnv = () => ({
    WECHAT_API_BASE: simServer.url,
    WECHAT_OPEN_BASE: simServer.url,
    WECHAT_MP_BASE: simServer.url,
  });

  before(async () => {
    simServer = await listen(sim.app);
  });
  after(async () => {
    await simServer?.close();
  });

  /** A SCAN push of a fresh QR code through `t`'s /wechat; the ticket's status after it, as the portal sees it. */
  async function scan(t: TestApp, openid: string): Promise<string> {
    const api = () => request(t.app.callback());
    const created = await api()
      .post('/api/login/tickets')
      .set('Authorization', KEY)
      .send({ clientIp: '203.0.113.7', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0' });
    assert.equal(created.status, 201, created.text);
    const { ticketId, qrContent } = created.body as { ticketId: string; qrContent: string };
    clock.advance(1000);
    const push = driver.sign(driver.event(openid, 'SCAN', sim.qrByUrl(qrContent)!.sceneStr, { Ticket: 'T' }));
    const res = await api().post('/wechat').query(push.query).type('text/xml').send(push.body);
    assert.equal(res.status, 200);
    const polled = await api().get(`/api/login/tickets/${ticketId}`).set('Authorization', KEY);
    return (polled.body as { status: string }).status;
  }

  describe('two instances on one database and Redis prefix', () => {
    let a: TestApp;
    let b: TestApp;
    let queriesOnA: { readonly count: number };

    before(async () => {
      a = await createTestApp({ clock, env: simEnv() });
      b = await createTestApp({ clock, env: simEnv() });
      queriesOnA = countBindingQueries(a.deps.db);
    });
    after(async () => {
      await a?.close();
      await b?.close();
    });
    beforeEach(async () => {
      await resetState(a.deps);
      // resetState empties the tables behind the services' back: nothing announces that.
      a.deps.boundAccounts.clear();
      b.deps.boundAccounts.clear();
      sim.reset();
    });

    /** Bound by a row insert: BindingService would announce it, and that announcement could reach A after A cached the binding. */
    async function boundUser() {
      const taxpayer = await createTestAccount(a.deps);
      const openid = sim.createUser('林小税').openid;
      const bindingId = await insertBinding(a.deps, taxpayer.account.id, openid);
      return { taxpayer, openid, bindingId };
    }

    it('answers a repeated scan of a bound WeChat without querying MySQL', async () => {
      const { taxpayer, openid } = await boundUser();
      const before = queriesOnA.count;
      assert.equal(await scan(a, openid), 'scanned');
      assert.equal(queriesOnA.count, before + 1, 'the first scan reads the binding once');
      assert.equal(await scan(a, openid), 'scanned');
      assert.equal(await a.deps.boundAccounts.accountIdFor(openid), taxpayer.account.id);
      assert.equal(queriesOnA.count, before + 1, 'hits do not read wechat_bindings');
    });

    it('forgets a binding on every instance when it is unbound through another (the next scan needs binding)', async () => {
      const { taxpayer, openid, bindingId } = await boundUser();
      assert.equal(await scan(a, openid), 'scanned');
      assert.equal(a.deps.boundAccounts.size, 1);
      const res = await request(b.app.callback())
        .delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${bindingId}`)
        .set('Authorization', KEY);
      assert.equal(res.status, 204, res.text);
      await until(() => a.deps.boundAccounts.size === 0, 'instance A hears of the unbind');
      assert.equal(await scan(a, openid), 'needs_binding');
    });

    it('keeps no "not bound": a WeChat bound or registered through another instance scans at once', async () => {
      const taxpayer = await createTestAccount(a.deps);
      const binder = sim.createUser('王新税').openid;
      const registrant = sim.createUser('陈注册').openid;
      assert.equal(await scan(a, binder), 'needs_binding');
      assert.equal(await scan(a, registrant), 'needs_binding');
      assert.equal(a.deps.boundAccounts.size, 0);

      const { bindingService, registration } = servicesOf(b.deps);
      assert.ok((await bindingService.bind({ openid: binder, accountId: taxpayer.account.id, context })).ok);
      const registered = await registration.register({
        realName: '陈注册',
        idNumber: uniqueIdNumber(),
        phone: uniquePhone(),
        password: 'Fj-tax-2025!',
        openid: registrant,
        context,
      });
      assert.ok(registered.ok);
      assert.equal(await scan(a, binder), 'scanned');
      assert.equal(await scan(a, registrant), 'scanned');
    });

    it('announces bind, registration and unbind on the channel by the SHA-1 of the openid only', async () => {
      const heard: string[] = [];
      const listener = await subscribe(redisOf(a.deps), a.deps.keys.key('binding', 'changes'), {
        message: (message) => heard.push(message),
      });
      try {
        const { bindingService, registration } = servicesOf(b.deps);
        const taxpayer = await createTestAccount(a.deps);
        const binder = sim.createUser('王新税').openid;
        const registrant = sim.createUser('陈注册').openid;
        const bound = await bindingService.bind({ openid: binder, accountId: taxpayer.account.id, context });
        assert.ok(bound.ok);
        assert.ok(
          (
            await registration.register({
              realName: '陈注册',
              idNumber: uniqueIdNumber(),
              phone: uniquePhone(),
              password: 'Fj-tax-2025!',
              openid: registrant,
              context,
            })
          ).ok,
        );
        assert.ok(await bindingService.unbind(taxpayer.account.id, bound.binding.id, context));
        // Refused writes change nothing and announce nothing.
        assert.equal(
          (await bindingService.bind({ openid: registrant, accountId: taxpayer.account.id, context })).ok,
          false,
        );
        await until(() => heard.length >= 3, 'the three announcements arrive');
        assert.deepEqual(heard, [bindingChangeId(binder), bindingChangeId(registrant), bindingChangeId(binder)]);
        assert.ok(
          heard.every(
            (message) => /^[0-9a-f]{40}$/.test(message) && !message.includes(binder) && !message.includes(registrant),
          ),
        );
      } finally {
        await listener.close();
      }
    });

    it('does not keep a binding read before an unbind whose announcement arrived while the read was out', async () => {
      const { taxpayer, openid, bindingId } = await boundUser();
      let reads = 0;
      let readReturned!: () => void;
      const returned = new Promise<void>((resolve) => {
        readReturned = resolve;
      });
      let releaseRead!: () => void;
      const release = new Promise<void>((resolve) => {
        releaseRead = resolve;
      });
      const heard: string[] = [];
      // Instance A's cache over the real store and the real channel; the test only holds the first
      // read's answer until the unbind's announcement has been delivered.
      const feed = new RedisBindingChangeFeed(redisOf(a.deps), a.deps.keys.key('binding', 'changes'));
      const observedFeed: BindingChangeFeed = {
        start: (listener) =>
          feed.start({
            ...listener,
            changed: (id) => {
              listener.changed(id);
              heard.push(id);
            },
          }),
        stop: () => feed.stop(),
        publish: (id) => feed.publish(id),
      };
      const cache = new BoundAccountCache({
        source: {
          accountIdFor: async (who) => {
            reads += 1;
            const accountId = await a.deps.bindings.accountIdFor(who);
            if (reads === 1) {
              readReturned();
              await release;
            }
            return accountId;
          },
        },
        feed: observedFeed,
        clock,
        logger: a.deps.logger,
      });
      await cache.start();
      try {
        const inFlight = cache.accountIdFor(openid);
        await returned;
        await servicesOf(b.deps).bindingService.unbind(taxpayer.account.id, bindingId, context);
        await until(() => heard.length === 1, 'the announcement reaches the cache');
        releaseRead();
        assert.equal(await inFlight, taxpayer.account.id, 'the read began before the unbind');
        assert.equal(cache.size, 0, 'but its answer was not kept');
        assert.equal(await cache.accountIdFor(openid), null);
        assert.equal(reads, 2);
      } finally {
        await cache.stop();
      }
    });

    it('expires an entry after its TTL, so a lost announcement goes stale for a bounded time', async () => {
      const { taxpayer, openid } = await boundUser();
      assert.equal(await a.deps.boundAccounts.accountIdFor(openid), taxpayer.account.id);
      // Removed behind the services' back: no announcement, as if it had been lost.
      await a.deps.db.getRepository(WechatBindingEntity).delete({ openid });
      assert.equal(await a.deps.boundAccounts.accountIdFor(openid), taxpayer.account.id);
      clock.advance(60_001);
      assert.equal(await a.deps.boundAccounts.accountIdFor(openid), null);
    });

    it('still commits an unbind whose announcement cannot be published', async () => {
      const { taxpayer, openid, bindingId } = await boundUser();
      const failing = new BoundAccountCache({
        source: b.deps.bindings,
        clock,
        logger: b.deps.logger,
        feed: {
          start: () => Promise.resolve(),
          stop: () => Promise.resolve(),
          publish: () => Promise.reject(new Error('Redis is away')),
        },
      });
      const bindingService = new BindingService({
        db: b.deps.db,
        audit: b.deps.audit,
        clock,
        logger: b.deps.logger,
        maxBindingsPerAccount: 5,
        changes: failing,
      });
      assert.ok(await bindingService.unbind(taxpayer.account.id, bindingId, context));
      assert.equal(await b.deps.bindings.findByOpenid(openid), null);
    });

    it('evicts the least recently used entry beyond its size', async () => {
      const users = await Promise.all([0, 1, 2].map(async () => boundUser()));
      const small = new BoundAccountCache({
        source: a.deps.bindings,
        feed: observedNothing(),
        clock,
        logger: a.deps.logger,
        maxEntries: 2,
      });
      await small.start();
      const [first, second, third] = users.map((user) => user.openid) as [string, string, string];
      await small.accountIdFor(first);
      await small.accountIdFor(second);
      await small.accountIdFor(first); // now `second` is the least recently used
      await small.accountIdFor(third);
      assert.equal(small.size, 2);
      const before = queriesOnA.count;
      await small.accountIdFor(first);
      await small.accountIdFor(third);
      assert.equal(queriesOnA.count, before);
      await small.accountIdFor(second);
      assert.equal(queriesOnA.count, before + 1);
      await small.stop();
    });
  });

  describe("when the subscription's connection drops", () => {
    let redis: PrivateRedis;
    let t: TestApp;

    before(async () => {
      redis = await PrivateRedis.start();
      t = await createTestApp({ clock, env: { ...simEnv(), REDIS_URL: redis.url } });
    });
    after(async () => {
      await t?.close();
      await redis?.dispose();
    });

    it('empties the cache and reads MySQL until it is back, as announcements may have been lost', async () => {
      await resetState(t.deps);
      const taxpayer = await createTestAccount(t.deps);
      const openid = sim.createUser('林小税').openid;
      await insertBinding(t.deps, taxpayer.account.id, openid);
      assert.equal(await t.deps.boundAccounts.accountIdFor(openid), taxpayer.account.id);
      assert.equal(t.deps.boundAccounts.size, 1);

      await redis.stop();
      await until(() => t.deps.boundAccounts.size === 0, 'the cache is emptied');
      // An unbind while Redis is away: its announcement cannot be delivered.
      await t.deps.db.getRepository(WechatBindingEntity).delete({ openid });
      assert.equal(await t.deps.boundAccounts.accountIdFor(openid), null);

      await insertBinding(t.deps, taxpayer.account.id, openid);
      assert.equal(await t.deps.boundAccounts.accountIdFor(openid), taxpayer.account.id);
      assert.equal(t.deps.boundAccounts.size, 0, 'nothing is kept while the subscription is down');

      await redis.restart();
      await until(
        async () => {
          await t.deps.boundAccounts.accountIdFor(openid);
          return t.deps.boundAccounts.size === 1;
        },
        'the cache keeps entries again',
        15_000,
      );
    });
  });

  describe('the embedded demo (REDIS_URL=memory, SQLite)', () => {
    const file = path.join(tmpdir(), `etax-bound-accounts-${testRun.id}.sqlite`);
    let t: TestApp;

    before(async () => {
      t = await createTestApp({ clock, env: { ...simEnv(), REDIS_URL: 'memory', DATABASE_URL: `sqlite:${file}` } });
    });
    after(async () => {
      await t?.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    });

    it('caches hits and forgets an unbound WeChat at once', async () => {
      sim.reset();
      const queries = countBindingQueries(t.deps.db);
      const taxpayer = await createTestAccount(t.deps);
      const openid = sim.createUser('林小税').openid;
      const { bindingService } = servicesOf(t.deps);
      assert.equal(await scan(t, openid), 'needs_binding');
      const bound = await bindingService.bind({ openid, accountId: taxpayer.account.id, context });
      assert.ok(bound.ok);
      assert.equal(await scan(t, openid), 'scanned');
      const before = queries.count;
      assert.equal(await scan(t, openid), 'scanned');
      assert.equal(queries.count, before);
      await bindingService.unbind(taxpayer.account.id, bound.binding.id, context);
      assert.equal(t.deps.boundAccounts.size, 0);
      assert.equal(await scan(t, openid), 'needs_binding');
    });
  });
});

/** A binding written behind the services' back: nothing announces it. */
async function insertBinding(deps: Dependencies, accountId: string, openid: string): Promise<string> {
  const id = randomUUID();
  await deps.db.getRepository(WechatBindingEntity).insert({
    id,
    accountId,
    openid,
    unionid: null,
    nickname: null,
    subscribed: true,
    boundAt: new Date(deps.clock.now()),
  });
  return id;
}

/** A feed that never announces anything (for tests of the map alone). */
function observedNothing(): BindingChangeFeed {
  return { start: () => Promise.resolve(), stop: () => Promise.resolve(), publish: () => Promise.resolve() };
}
