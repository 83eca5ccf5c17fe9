import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../src/clock/Clock';
import { createRedis, type Redis } from '../../../src/store/createRedis';
import { RedisKeys } from '../../../src/store/RedisKeys';
import { testRun } from '../../support/testEnv';
import type { OpenStore } from './storeFixture';

export interface TestRedis {
  /** The connection of the surrounding `describe` (open between its before and after hooks). */
  readonly client: Redis;
  /** Stores on this machine's Redis, each test under a key prefix of its own within the run's. */
  open<S>(make: (redis: Redis, keys: RedisKeys, clock: Clock) => S): OpenStore<S>;
}

/** Registers hooks that connect to the run's Redis before the surrounding `describe` and close after it. */
export function useTestRedis(): TestRedis {
  let client: Redis | null = null;
  before(async () => {
    client = createRedis(testRun.redisUrl, () => undefined);
    await client.connect();
  });
  after(async () => {
    if (client?.isOpen) await client.close();
    client = null;
  });
  const connected = (): Redis => {
    if (!client) throw new Error('Redis is connected for the tests of the describe that called useTestRedis');
    return client;
  };
  return {
    get client() {
      return connected();
    },
    open<S>(make: (redis: Redis, keys: RedisKeys, clock: Clock) => S): OpenStore<S> {
      return async (clock) => {
        const redis = connected();
        const keys = new RedisKeys(`${testRun.redisPrefix}contract-${randomBytes(6).toString('hex')}:`);
        return { store: make(redis, keys, clock), elapse: (ms) => elapseRedisTtls(redis, keys.prefix, ms) };
      };
    },
  };
}

/**
 * Lets `ms` pass for the TTLs of every key under `prefix`, without waiting: a key with no more than
 * `ms` left is deleted (what Redis does when it expires), the others keep `ms` less. So a test moves
 * Redis's time together with its ManualClock. A key without a TTL fails the test.
 */
export async function elapseRedisTtls(redis: Redis, prefix: string, ms: number): Promise<void> {
  for await (const keys of redis.scanIterator({ MATCH: `${escapeGlob(prefix)}*`, COUNT: 500 })) {
    for (const key of keys) {
      const left = await redis.pTTL(key);
      // Every key has a TTL, so a store that writes one without breaks the contract.
      if (left === -1) throw new Error(`${key} has no TTL`);
      if (left === -2) continue; // gone meanwhile
      if (left <= ms) await redis.del(key);
      else await redis.pExpire(key, left - ms);
    }
  }
}

/** Prefixes are literal; SCAN's MATCH is a glob. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
