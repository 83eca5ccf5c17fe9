import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../../src/clock/Clock';
import { createLogger } from '../../../src/logging/createLogger';
import { WeChatSimulator } from '../../../src/sandbox/simulator/WeChatSimulator';
import { createRedis, type Redis } from '../../../src/store/createRedis';
import { RedisKeys } from '../../../src/store/RedisKeys';
import { AccessTokens } from '../../../src/wechat/api/AccessTokens';
import { RedisAccessTokenStore } from '../../../src/wechat/api/RedisAccessTokenStore';
import { WeChatApiError, WeChatUnavailableError } from '../../../src/wechat/api/WeChatApiError';
import { WeChatHttp } from '../../../src/wechat/api/WeChatHttp';
import { listen } from '../../support/testApp';
import { testRun } from '../../support/testEnv';

const APP_ID = 'wx0123456789abcdef';
const APP_SECRET = 'secret0123456789secret0123456789';
const SECOND = 1000;
const LIFETIME_MS = 7200 * SECOND;
const ROTATION_WINDOW_MS = 300 * SECOND;
const INSTANCES = 4;
const CALLS_PER_INSTANCE = 50;

const logger = createLogger('silent');

/** Keys of one test only, so no two tests see each other's token, lock or forced-refresh quota. */
function keysForOneTest(): RedisKeys {
  return new RedisKeys(`${testRun.redisPrefix}access-tokens-${randomBytes(6).toString('hex')}:`);
}

/** One service instance: its own Redis connection and HTTP client, sharing the Redis prefix. */
interface Instance {
  redis: Redis;
  store: RedisAccessTokenStore;
  tokens: AccessTokens;
}

describe('wechat/api/AccessTokens', () => {
  let clock: ManualClock;
  let sim: WeChatSimulator;
  let apiBase: string;
  let keys: RedisKeys;
  const cleanups: (() => Promise<unknown>)[] = [];

  async function connectRedis(): Promise<Redis> {
    const redis = createRedis(testRun.redisUrl, () => undefined);
    await redis.connect();
    cleanups.push(() => (redis.isOpen ? redis.close() : Promise.resolve()));
    return redis;
  }

  async function startInstance(options: { waitMs?: number; appSecret?: string } = {}): Promise<Instance> {
    const redis = await connectRedis();
    const store = new RedisAccessTokenStore(redis, keys);
    const tokens = new AccessTokens({
      http: new WeChatHttp(3000),
      apiBase,
      appId: APP_ID,
      appSecret: options.appSecret ?? APP_SECRET,
      store,
      clock,
      logger,
      ...(options.waitMs === undefined ? {} : { waitMs: options.waitMs }),
    });
    return { redis, store, tokens };
  }

  async function startInstances(count: number): Promise<Instance[]> {
    return Promise.all(Array.from({ length: count }, () => startInstance()));
  }

  /** `perInstance` concurrent calls on every instance at once, flattened. */
  function burst(
    instances: Instance[],
    perInstance: number,
    call: (instance: Instance) => Promise<string>,
  ): Promise<string[]> {
    return Promise.all(instances.flatMap((instance) => Array.from({ length: perInstance }, () => call(instance))));
  }

  function stableTokenRequests(): number {
    return sim.calls.filter((call) => call.path === '/cgi-bin/stable_token').length;
  }

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 0, 15, 2, 0, 0));
    sim = new WeChatSimulator({ appId: APP_ID, appSecret: APP_SECRET, clock });
    const server = await listen(sim.app);
    cleanups.push(() => server.close());
    apiBase = server.url;
    keys = keysForOneTest();
  });

  afterEach(async () => {
    const pending = cleanups.splice(0).reverse();
    for (const cleanup of pending) await cleanup();
  });

  describe('sharing one token across instances', () => {
    it('fetches the token once for 4 instances × 50 concurrent get() calls, and all 200 get the same token', async () => {
      const instances = await startInstances(INSTANCES);

      const tokens = await burst(instances, CALLS_PER_INSTANCE, (instance) => instance.tokens.get());

      assert.equal(tokens.length, INSTANCES * CALLS_PER_INSTANCE);
      assert.equal(sim.tokenFetches(), 1);
      assert.equal(stableTokenRequests(), 1);
      assert.equal(new Set(tokens).size, 1);
      assert.equal((await instances[0]!.store.get())?.token, tokens[0]);
    });

    it('fetches exactly once more when the token passes its refreshAt, and all 200 callers get the new token', async () => {
      const instances = await startInstances(INSTANCES);
      const first = await instances[0]!.tokens.get();
      const stored = await instances[0]!.store.get();
      assert.ok(stored);

      clock.set(stored.refreshAt + 1);
      const tokens = await burst(instances, CALLS_PER_INSTANCE, (instance) => instance.tokens.get());

      assert.equal(sim.tokenFetches(), 2);
      assert.equal(new Set(tokens).size, 1);
      assert.notEqual(tokens[0], first);
      const next = await instances[0]!.store.get();
      assert.equal(next?.token, tokens[0]);
      assert.ok(next!.refreshAt > clock.now());
    });

    it('keeps handing out the stored token without asking WeChat until refreshAt', async () => {
      const instances = await startInstances(2);
      const token = await instances[0]!.tokens.get();
      const stored = await instances[0]!.store.get();

      clock.set(stored!.refreshAt - 1);
      const later = await burst(instances, 10, (instance) => instance.tokens.get());

      assert.equal(sim.tokenFetches(), 1);
      assert.deepEqual(new Set(later), new Set([token]));
    });

    it('stores the token with expiresAt from expires_in and refreshAt 5 minutes before it, for as long as it lives', async () => {
      const [instance] = await startInstances(1);
      const fetchedAt = clock.now();

      const token = await instance!.tokens.get();

      assert.deepEqual(await instance!.store.get(), {
        token,
        expiresAt: fetchedAt + LIFETIME_MS,
        refreshAt: fetchedAt + LIFETIME_MS - ROTATION_WINDOW_MS,
      });
      const ttl = await instance!.redis.pTTL(keys.key('wechat', 'access-token'));
      assert.ok(ttl > LIFETIME_MS - 60 * SECOND && ttl <= LIFETIME_MS, `TTL ${ttl} ms`);
    });

    it('lets a newly started instance reuse the token already in Redis', async () => {
      const [first] = await startInstances(1);
      const token = await first!.tokens.get();

      const [restarted] = await startInstances(1);

      assert.equal(await restarted!.tokens.get(), token);
      assert.equal(sim.tokenFetches(), 1);
    });

    it('does not share tokens between Redis prefixes', async () => {
      const [a] = await startInstances(1);
      await a!.tokens.get();

      keys = keysForOneTest();
      const [b] = await startInstances(1);
      await b!.tokens.get();

      assert.equal(sim.tokenFetches(), 2);
    });
  });

  describe('refreshing a token WeChat rejected', () => {
    it('replaces a rejected token once for 4 instances × 50 concurrent callers, with one forced refresh', async () => {
      const instances = await startInstances(INSTANCES);
      const stale = await instances[0]!.tokens.get();
      sim.invalidateAccessTokens();

      const fresh = await burst(instances, CALLS_PER_INSTANCE, (instance) =>
        instance.tokens.refreshAfterRejection(stale),
      );

      assert.equal(sim.tokenFetches(), 2);
      assert.equal(new Set(fresh).size, 1);
      assert.notEqual(fresh[0], stale);
      assert.equal(await instances[1]!.tokens.get(), fresh[0]);
    });

    it('asks stable_token for a forced refresh, so WeChat replaces a token it still considers current', async () => {
      const [instance] = await startInstances(1);
      const stale = await instance!.tokens.get();

      // The simulator still accepts `stale`: only force_refresh=true makes stable_token hand out another.
      const fresh = await instance!.tokens.refreshAfterRejection(stale);

      assert.notEqual(fresh, stale);
      assert.equal(sim.tokenFetches(), 2);
      assert.equal((await instance!.store.get())?.token, fresh);
    });

    it('does not spend a second forced refresh within 30 s: WeChat then hands back the current token', async () => {
      const [instance] = await startInstances(1);
      const first = await instance!.tokens.get();
      const second = await instance!.tokens.refreshAfterRejection(first);
      assert.notEqual(second, first);

      const third = await instance!.tokens.refreshAfterRejection(second);

      assert.equal(third, second);
      assert.equal(sim.tokenFetches(), 3);
    });

    it('uses the token another instance already fetched instead of fetching again', async () => {
      const [a, b] = await startInstances(2);
      const stale = await a!.tokens.get();
      sim.invalidateAccessTokens();
      const fresh = await a!.tokens.refreshAfterRejection(stale);

      assert.equal(await b!.tokens.refreshAfterRejection(stale), fresh);
      assert.equal(sim.tokenFetches(), 2);
    });
  });

  describe('failures', () => {
    it('reports a failed fetch as WeChatUnavailableError and releases the lock for the next caller', async () => {
      const [instance] = await startInstances(1);
      sim.failNext('/cgi-bin/stable_token', { status: 500 });

      await assert.rejects(instance!.tokens.get(), (error: unknown) => {
        assert.ok(error instanceof WeChatUnavailableError);
        assert.equal(error.api, 'stable_token');
        return true;
      });
      assert.equal(await instance!.redis.exists(keys.key('wechat', 'access-token', 'lock')), 0);

      const token = await instance!.tokens.get();
      assert.equal(typeof token, 'string');
      assert.equal(sim.tokenFetches(), 1);
    });

    it("reports wrong credentials as WeChatApiError with WeChat's errcode and errmsg", async () => {
      const instance = await startInstance({ appSecret: 'not-the-secret' });

      await assert.rejects(instance.tokens.get(), (error: unknown) => {
        assert.ok(error instanceof WeChatApiError);
        assert.equal(error.errcode, 40125);
        assert.equal(error.errmsg, 'invalid appsecret');
        assert.equal(error.meaning, 'invalid AppSecret');
        return true;
      });
    });

    it('gives up with WeChatUnavailableError when another instance holds the fetch lock longer than waitMs', async () => {
      const holder = await startInstance();
      const owner = await holder.store.lock(10_000);
      assert.ok(owner);
      const waiter = await startInstance({ waitMs: 200 });

      const startedAt = Date.now();
      await assert.rejects(waiter.tokens.get(), WeChatUnavailableError);
      assert.ok(Date.now() - startedAt < 2000);
      assert.equal(sim.tokenFetches(), 0);
      await holder.store.unlock(owner);
    });
  });
});

describe('wechat/api/RedisAccessTokenStore', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let store: RedisAccessTokenStore;
  const noon = Date.UTC(2026, 0, 15, 4, 0, 0);

  const forcedGapKey = (): string => keys.key('wechat', 'access-token', 'forced-gap');

  before(async () => {
    redis = createRedis(testRun.redisUrl, () => undefined);
    await redis.connect();
  });
  after(async () => {
    if (redis.isOpen) await redis.close();
  });
  beforeEach(() => {
    keys = keysForOneTest();
    store = new RedisAccessTokenStore(redis, keys);
  });

  it('allows one forced refresh per 30 s: the first is granted, a second one right after is refused', async () => {
    assert.equal(await store.takeForcedRefresh(noon), true);
    assert.equal(await store.takeForcedRefresh(noon), false);

    const gapTtl = await redis.pTTL(forcedGapKey());
    assert.ok(gapTtl > 0 && gapTtl <= 30 * SECOND, `gap TTL ${gapTtl} ms`);
  });

  it('shares the 30 s gap between instances (separate Redis connections, same prefix)', async () => {
    const other = createRedis(testRun.redisUrl, () => undefined);
    await other.connect();
    try {
      assert.equal(await store.takeForcedRefresh(noon), true);
      assert.equal(await new RedisAccessTokenStore(other, keys).takeForcedRefresh(noon), false);
    } finally {
      await other.close();
    }
  });

  it('allows at most 20 forced refreshes per Beijing day', async () => {
    // Beijing 2026-01-15 23:00 (UTC 15:00). Deleting the gap key stands in for waiting 30 s each time.
    const lateEvening = Date.UTC(2026, 0, 15, 15, 0, 0);
    const granted: boolean[] = [];
    for (let i = 0; i < 21; i += 1) {
      await redis.del(forcedGapKey());
      granted.push(await store.takeForcedRefresh(lateEvening + i * 31 * SECOND));
    }
    assert.deepEqual(granted, [...Array<boolean>(20).fill(true), false]);

    await redis.del(forcedGapKey());
    assert.equal(
      await store.takeForcedRefresh(Date.UTC(2026, 0, 15, 15, 59, 59, 999)),
      false,
      'still the same Beijing day',
    );

    // UTC 16:00 is midnight in Beijing: a new quota, although it is still 2026-01-15 in UTC.
    await redis.del(forcedGapKey());
    assert.equal(await store.takeForcedRefresh(Date.UTC(2026, 0, 15, 16, 0, 0)), true);
  });

  it('lets one owner at a time hold the fetch lock, and only the owner release it', async () => {
    const owner = await store.lock(10_000);
    assert.ok(owner);
    assert.equal(await store.lock(10_000), null);

    await store.unlock('someone-else');
    assert.equal(await store.lock(10_000), null);

    await store.unlock(owner);
    const next = await store.lock(10_000);
    assert.ok(next);
    assert.notEqual(next, owner);
  });

  it('takes the lock for the ttl asked, so a crashed holder cannot block fetches for ever', async () => {
    assert.ok(await store.lock(50));
    const lockTtl = await redis.pTTL(keys.key('wechat', 'access-token', 'lock'));
    assert.ok(lockTtl > 0 && lockTtl <= 50, `lock TTL ${lockTtl} ms`);
  });

  it('round-trips a stored token and returns null when there is none', async () => {
    assert.equal(await store.get(), null);
    const token = {
      token: 'T'.repeat(136),
      expiresAt: noon + LIFETIME_MS,
      refreshAt: noon + LIFETIME_MS - ROTATION_WINDOW_MS,
    };

    await store.set(token, LIFETIME_MS);

    assert.deepEqual(await store.get(), token);
  });
});
