import type { RedisCluster } from './createRedis';

/** A command for a slot the client's map has no node for: answered 503 like CLUSTERDOWN. */
const UNSERVED = 'CLUSTERDOWN the client is re-reading the slot map after a node failed';

/**
 * node-redis 5 re-reads a Cluster's slot map only when a node answers MOVED or ASK. A primary that
 * died answers nothing, so after its replica is promoted the client would keep sending that slot
 * range to the dead connection (ClientOfflineError) until the process restarts, and a map read
 * mid-failover can leave slots without a node (a TypeError inside the client). This re-reads the
 * map whenever a node's connection fails, and turns an unmapped slot into a "try again" error.
 */
export function guardClusterFailover(cluster: RedisCluster): void {
  const slots = cluster._slots;
  const rediscover = () => {
    const startWith = slots.masters.find((master) => master.client?.isReady)?.client ?? slots.masters[0]?.client;
    // A failed re-read is reported through the cluster's 'error' event; the next node error retries it.
    if (startWith && cluster.isOpen) void slots.rediscover(startWith).catch(() => undefined);
  };
  cluster.on('node-error', rediscover);
  const lookup = slots.getClientAndSlotNumber.bind(slots);
  slots.getClientAndSlotNumber = async (firstKey, isReadonly) => {
    try {
      return await lookup(firstKey, isReadonly);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      rediscover();
      throw new Error(UNSERVED, { cause: error });
    }
  };
}
