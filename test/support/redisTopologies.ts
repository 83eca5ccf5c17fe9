import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import type { ServerTopology } from '../../src/store/createRedis';
import { PrivateRedis } from '../reliability/support/PrivateRedis';
import { freePort, waitUntil } from '../reliability/support/processes';

const run = promisify(execFile);

/** The master name the test sentinels monitor. */
export const SENTINEL_MASTER = 'etax';

/** Stops the run with a sentence naming what to install when a Redis binary is missing. */
async function requireBinary(name: 'redis-server' | 'redis-cli'): Promise<void> {
  try {
    await run(name, ['--version']);
  } catch {
    throw new Error(
      `${name} is not installed: the Sentinel and Cluster tests start their own Redis servers from ` +
        "Debian's packages (apt-get install -y redis-server redis-tools; .ci/run does this).",
    );
  }
}

async function send(port: number, args: string[]): Promise<string> {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const reply = await client.sendCommand(args);
    return typeof reply === 'string' ? reply : JSON.stringify(reply);
  } catch {
    return '';
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** One topology the tests launch on loopback ports, in temporary directories, and tear down. */
export interface TestTopology {
  readonly topology: ServerTopology;
  dispose(): Promise<void>;
}

/** The service's environment variables that point it at `topology` (and at no single node). */
export function redisEnvironment(topology: ServerTopology): Record<string, string | undefined> {
  if (topology.kind === 'node') return { REDIS_URL: topology.url };
  if (topology.kind === 'cluster') return { REDIS_URL: undefined, REDIS_CLUSTER_NODES: topology.nodeUrls.join(',') };
  return {
    REDIS_URL: undefined,
    REDIS_SENTINELS: topology.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    REDIS_SENTINEL_MASTER: topology.masterName,
  };
}

/**
 * A primary, one replica (two when asked) and three sentinels (quorum 2) that call a primary down
 * after 400 ms without an answer, so a killed primary is replaced within about two seconds.
 */
export class SentinelSetup implements TestTopology {
  private constructor(
    readonly primary: PrivateRedis,
    readonly replicas: PrivateRedis[],
    readonly sentinels: PrivateRedis[],
  ) {}

  /** The first replica. */
  get replica(): PrivateRedis {
    return this.replicas[0]!;
  }

  static async start(options: { replicas?: 1 | 2 } = {}): Promise<SentinelSetup> {
    await requireBinary('redis-server');
    // Persistence as the operations advice says, so a confirmation is on disk and on the replica.
    const primary = await PrivateRedis.start({ persistence: 'aof' });
    const replicas = await Promise.all(
      Array.from({ length: options.replicas ?? 1 }, () =>
        PrivateRedis.start({ persistence: 'aof', args: ['--replicaof', '127.0.0.1', String(primary.port)] }),
      ),
    );
    const sentinels = await Promise.all(
      [0, 1, 2].map(() =>
        PrivateRedis.start({
          configFile: [
            `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} 2`,
            `sentinel down-after-milliseconds ${SENTINEL_MASTER} 400`,
            `sentinel failover-timeout ${SENTINEL_MASTER} 3000`,
            `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
            '',
          ].join('\n'),
          args: ['--sentinel'],
        }),
      ),
    );
    const setup = new SentinelSetup(primary, replicas, sentinels);
    try {
      await waitUntil(
        'the replicas in sync and every sentinel knowing the replicas and the two other sentinels',
        async () => {
          for (const replica of replicas)
            if (!/master_link_status:up/.test(await send(replica.port, ['INFO', 'replication']))) return false;
          for (const sentinel of sentinels) {
            const info = await send(sentinel.port, ['INFO', 'sentinel']);
            if (!info.includes(`slaves=${replicas.length},sentinels=3`)) return false;
          }
          return true;
        },
        20_000,
        100,
      );
    } catch (error) {
      await setup.dispose();
      throw error;
    }
    return setup;
  }

  get topology(): ServerTopology {
    return {
      kind: 'sentinel',
      sentinels: this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
      masterName: SENTINEL_MASTER,
      tls: false,
    };
  }

  /** The port of the node the sentinels currently call primary. */
  async primaryPort(): Promise<number> {
    const reply = await send(this.sentinels[0]!.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER]);
    return Number((JSON.parse(reply) as [string, string])[1]);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.replicas, this.primary].map((node) => node.dispose()));
  }
}

/**
 * A Redis Cluster of three primaries (and one or two replicas each when asked), every slot covered, with a
 * one-second node timeout so a killed primary's replica takes over within a few seconds.
 */
export class ClusterSetup implements TestTopology {
  private constructor(readonly nodes: PrivateRedis[]) {}

  /** `persistence: 'none'` for a bench beside the unpersisted shared Redis; the tests keep AOF. */
  static async start(options: { replicas?: 0 | 1 | 2; persistence?: 'aof' | 'none' } = {}): Promise<ClusterSetup> {
    await requireBinary('redis-server');
    await requireBinary('redis-cli');
    const count = 3 * (1 + (options.replicas ?? 0));
    const nodes = await Promise.all(
      Array.from({ length: count }, async () =>
        PrivateRedis.start({
          persistence: options.persistence ?? 'aof',
          // The bus port is chosen free too: port + 10000 may be taken or past 65535.
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-node-timeout',
            '1000',
            '--cluster-port',
            String(await freePort()),
          ],
        }),
      ),
    );
    const setup = new ClusterSetup(nodes);
    try {
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        String(options.replicas ?? 0),
        '--cluster-yes',
      ]);
      await waitUntil(
        'every cluster node to report cluster_state:ok and know every other node, every replica in sync',
        async () => {
          for (const node of nodes) {
            const info = await send(node.port, ['CLUSTER', 'INFO']);
            if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${count}`)) return false;
            const replication = await send(node.port, ['INFO', 'replication']);
            if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
          }
          return true;
        },
        20_000,
        100,
      );
    } catch (error) {
      await setup.dispose();
      throw error;
    }
    return setup;
  }

  get topology(): ServerTopology {
    return { kind: 'cluster', nodeUrls: this.nodes.slice(0, 3).map((node) => node.url) };
  }

  /** The nodes that are primaries now. */
  async primaries(): Promise<PrivateRedis[]> {
    const running = this.nodes.filter((node) => node.isRunning);
    const roles = await Promise.all(running.map((node) => send(node.port, ['ROLE'])));
    return running.filter((_, i) => roles[i]!.startsWith('["master"'));
  }

  /** The primary serving `key`'s slot now. */
  async primaryServing(key: string): Promise<PrivateRedis> {
    const [node] = await this.primaries();
    const slot = Number(await send(node!.port, ['CLUSTER', 'KEYSLOT', key]));
    const ranges = JSON.parse(await send(node!.port, ['CLUSTER', 'SLOTS'])) as Array<
      [number, number, [string, number]]
    >;
    const [, , [, port]] = ranges.find(([first, last]) => first <= slot && slot <= last)!;
    return this.nodes.find((candidate) => candidate.port === port)!;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.dispose()));
  }
}
