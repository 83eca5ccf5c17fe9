import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../src/clock/Clock';
import {
  closeRedis,
  createTopologyClient,
  type Redis,
  type RedisNode,
  type ServerTopology,
} from '../../../src/store/createRedis';
import { isCluster, isSentinel } from '../../../src/store/RedisSubscription';
import { scanKeys } from '../../support/redisScan';
import { RedisKeys } from '../../../src/store/RedisKeys';
import { testRun } from '../../support/testEnv';
import type { OpenStore } from './storeFixture';

export interface TestRedis {
  /** The connection of the surrounding `describe` (open between its before and after hooks). */
  readonly client: Redis;
  /** The same connection when it is one node (commands without a key, such as OBJECT or MEMORY). */
  readonly node: RedisNode;
  /** Stores on this machine's Redis, each test under a key prefix of its own within the run's. */
  open<S>(make: (redis: Redis, keys: RedisKeys, clock: Clock) => S): OpenStore<S>;
}

/**
 * Registers hooks that connect before the surrounding `describe` and close after it: to the run's
 * Redis, or to the topology `where` names (read in the before hook, once a test topology runs).
 */
export function useTestRedis(where: () => ServerTopology = () => ({ kind: 'node', url: testRun.redisUrl })): TestRedis {
  let client: Redis | null = null;
  before(async () => {
    client = createTopologyClient(where(), () => undefined);
    await client.connect();
  });
  after(async () => {
    if (client) await closeRedis(client);
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
    get node() {
      const redis = connected();
      if (isCluster(redis) || isSentinel(redis)) throw new Error('this test needs one Redis node');
      return redis;
    },
    open<S>(make: (redis: Redis, keys: RedisKeys, clock: Clock) => S): OpenStore<S> {
      return (clock) => {
        const redis = connected();
        const keys = new RedisKeys(`${testRun.redisPrefix}contract-${randomBytes(6).toString('hex')}:`);
        return Promise.resolve({
          store: make(redis, keys, clock),
          elapse: (ms) => elapseRedisTtls(redis, keys.prefix, ms),
        });
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
  for await (const keys of scanKeys(redis, `${escapeGlob(prefix)}*`)) {
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
