import { createClient, createCluster, createSentinel } from 'redis';
import type { RedisTopology } from '../config/Config';
import { guardClusterFailover } from './guardClusterFailover';

/** A client of one Redis node. */
export type RedisNode = ReturnType<typeof createClient>;
export type RedisCluster = ReturnType<typeof createCluster>;
export type RedisSentinel = ReturnType<typeof createSentinel>;

/**
 * What the stores talk to: one node, a Sentinel-managed primary (node-redis follows failovers) or
 * a Cluster (node-redis routes each command by its key's slot). The commands the stores use have
 * the same shape on all three.
 */
export type Redis = RedisNode | RedisCluster | RedisSentinel;

export type ServerTopology = Exclude<RedisTopology, { kind: 'memory' }>;

export interface RedisClientOptions {
  /** false for a one-shot command: fail at once instead of reconnecting. Default true. */
  reconnect?: boolean;
}

const CONNECT_TIMEOUT_MS = 3000;
const backOff = (retries: number): number => Math.min(50 * 2 ** retries, 2000);

function socketOptions(options: RedisClientOptions) {
  return {
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectStrategy: options.reconnect === false ? (false as const) : backOff,
  };
}

/**
 * A node-redis client that keeps reconnecting with a capped back-off, so the service recovers by
 * itself when Redis comes back; commands issued while it is down fail at once instead of queueing.
 */
export function createRedis(url: string, onError: (error: Error) => void, options: RedisClientOptions = {}): RedisNode {
  const client = createClient({ url, disableOfflineQueue: true, socket: socketOptions(options) });
  client.on('error', onError);
  return client;
}

/** The client for the configured topology, with node-redis's own Sentinel and Cluster clients. */
export function createTopologyClient(
  topology: ServerTopology,
  onError: (error: Error) => void,
  options: RedisClientOptions = {},
): Redis {
  if (topology.kind === 'node') return createRedis(topology.url, onError, options);
  if (topology.kind === 'sentinel') {
    const tls = topology.tls ? { tls: true as const } : {};
    const sentinel = createSentinel({
      name: topology.masterName,
      sentinelRootNodes: topology.sentinels,
      // One connection to the primary: WAIT then covers the write just sent on it (ReplicaAcks).
      masterPoolSize: 1,
      // Sentinels report a failover within a second; polling is only the fallback.
      scanInterval: 2000,
      passthroughClientErrorEvents: true,
      nodeClientOptions: {
        disableOfflineQueue: true,
        ...(topology.password ? { password: topology.password } : {}),
        socket: { ...socketOptions(options), ...tls },
      },
      sentinelClientOptions: {
        ...(topology.sentinelPassword ? { password: topology.sentinelPassword } : {}),
        socket: { ...socketOptions(options), ...tls },
      },
    });
    sentinel.on('error', (error: unknown) => onError(error instanceof Error ? error : new Error(String(error))));
    return sentinel;
  }
  // Credentials and TLS of the first URL apply to every node the cluster announces.
  const first = new URL(topology.nodeUrls[0]!);
  const cluster = createCluster({
    rootNodes: topology.nodeUrls.map((url) => ({ url })),
    defaults: {
      disableOfflineQueue: true,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      socket: { ...socketOptions(options), ...(first.protocol === 'rediss:' ? { tls: true as const } : {}) },
    },
  });
  cluster.on('error', onError);
  guardClusterFailover(cluster);
  return cluster;
}

/**
 * The first connection, with a deadline: a service that cannot reach Redis at start should exit
 * and say so, not wait forever while the client keeps retrying.
 */
export async function connectRedis(client: Redis, deadlineMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis not reachable within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    await Promise.race([client.connect(), deadline]);
  } catch (error) {
    await Promise.resolve(client.destroy()).catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes whichever client it is, once; a client never opened or already closed is left alone. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.isOpen) await client.close();
}
