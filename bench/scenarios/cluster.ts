import { ClusterSetup, redisEnvironment } from '../../test/support/redisTopologies';
import type { BenchContext } from '../lib/context';

export interface ClusterBench {
  /** The scenarios' context with every product instance on the cluster. */
  ctx: BenchContext;
  description: string;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of the run's own (3 primaries with one replica each, on loopback, unpersisted like
 * the shared node it is compared with) and a context whose product instances use it: confirmations
 * then wait for a replica (WAIT 1, the default beside a cluster), as in production. The cluster's
 * processes are metered with the rest; Redis command counts are read from the single node only.
 */
export async function startClusterBench(ctx: BenchContext): Promise<ClusterBench> {
  const cluster = await ClusterSetup.start({ replicas: 1, persistence: 'none' });
  try {
    const redis = Object.fromEntries(
      Object.entries(redisEnvironment(cluster.topology)).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const pids = Object.fromEntries(cluster.nodes.map((node, i) => [`redis cluster ${i + 1}`, node.pid ?? 0]));
    const startProduct: BenchContext['startProduct'] = (name, options = {}) =>
      ctx.startProduct(`${name} (cluster)`, { ...options, redis });
    // The bound users are MariaDB's, shared with the single-node instances: no seeding again.
    const product = await startProduct('A');
    return {
      ctx: {
        ...ctx,
        // Profiles are for the single node's misses; the cluster rows are a comparison.
        settings: { ...ctx.settings, profile: 'never' },
        product,
        startProduct,
        meter: (servers) => ctx.meter({ ...servers, ...pids }),
      },
      description: `Redis Cluster, 3 primaries × 1 replica (redis-server ${cluster.nodes.length} processes), WAIT 1 on confirm/redeem`,
      stop: () => cluster.dispose(),
    };
  } catch (error) {
    await cluster.dispose();
    throw error;
  }
}
