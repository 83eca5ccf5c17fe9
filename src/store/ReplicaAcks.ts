import type { Redis } from './createRedis';
import { isCluster, isSentinel } from './RedisSubscription';

/**
 * Holds an acknowledgement until the write just made is on `replicas` replicas (WAIT), so a
 * failover right after cannot lose it. WAIT covers every earlier write of its connection, so it
 * is sent on the connection the write went through: the node's, the Sentinel primary's (pool of
 * one) or, on a Cluster, the primary that owns `key`'s slot. Too few replicas within timeoutMs
 * fails with NOREPLICAS (answered 503 "try again"): the write is on the primary only.
 */
export class ReplicaAcks {
  constructor(
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  async after(redis: Redis, key: string): Promise<void> {
    if (this.replicas === 0) return;
    const args = ['WAIT', String(this.replicas), String(this.timeoutMs)];
    const acked = Number(
      isCluster(redis)
        ? await redis.sendCommand(key, false, args)
        : isSentinel(redis)
          ? await redis.sendCommand(false, args)
          : await redis.sendCommand(args),
    );
    if (acked < this.replicas)
      throw new Error(`NOREPLICAS ${acked} of ${this.replicas} replicas acknowledged within ${this.timeoutMs} ms`);
  }
}
