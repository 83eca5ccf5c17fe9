import type { Redis } from '../../src/store/createRedis';
import { isCluster, isSentinel } from '../../src/store/RedisSubscription';

type Send = (args: string[]) => Promise<unknown>;

/** One SCAN target per primary: the node itself, the Sentinel's current primary, or every Cluster primary. */
async function primaries(redis: Redis): Promise<Send[]> {
  if (isCluster(redis)) {
    return Promise.all(
      redis.masters.map(async (master) => {
        const client = await redis.nodeClient(master);
        return (args: string[]) => client.sendCommand(args);
      }),
    );
  }
  if (isSentinel(redis)) return [(args) => redis.sendCommand(false, args)];
  return [(args) => redis.sendCommand(args)];
}

/** Every key matching the glob `match`, in batches, on whichever topology `redis` is. */
export async function* scanKeys(redis: Redis, match: string): AsyncGenerator<string[]> {
  for (const send of await primaries(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = (await send(['SCAN', cursor, 'MATCH', match, 'COUNT', '500'])) as [string, string[]];
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** Deletes every key matching `match`, one key per command so no DEL spans two Cluster slots. */
export async function deleteKeys(redis: Redis, match: string): Promise<void> {
  for await (const keys of scanKeys(redis, match)) await Promise.all(keys.map((key) => redis.del(key)));
}
