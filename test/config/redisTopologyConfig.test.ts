import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/loadConfig';
import { testEnvironment } from '../support/testEnv';

/** The problems loadConfig lists for `overrides` on the test environment; fails when it loads. */
function problems(overrides: Record<string, string | undefined>): string[] {
  try {
    loadConfig(testEnvironment(overrides));
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected loadConfig to refuse the environment');
}

const SENTINELS = {
  REDIS_URL: undefined,
  REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379',
  REDIS_SENTINEL_MASTER: 'etax',
};
const CLUSTER = { REDIS_URL: undefined, REDIS_CLUSTER_NODES: 'redis://10.0.0.1:6379,redis://10.0.0.2:6379' };

describe('config: the Redis topology (one node, Sentinel or Cluster)', () => {
  it('reads REDIS_SENTINELS and REDIS_SENTINEL_MASTER into a Sentinel topology, waiting for one replica by default', () => {
    const config = loadConfig(testEnvironment({ ...SENTINELS, REDIS_PASSWORD: 'node-secret', REDIS_TLS: '1' }));
    assert.deepEqual(config.redis, {
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      masterName: 'etax',
      password: 'node-secret',
      tls: true,
    });
    assert.equal(config.redisReplicaAcks.replicas, 1);
  });

  it('reads REDIS_CLUSTER_NODES into a Cluster topology, waiting for one replica by default', () => {
    const config = loadConfig(testEnvironment(CLUSTER));
    assert.deepEqual(config.redis, {
      kind: 'cluster',
      nodeUrls: ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379'],
    });
    assert.equal(config.redisReplicaAcks.replicas, 1);
  });

  it('waits for no replica on a single node unless REDIS_WAIT_REPLICAS says so', () => {
    assert.equal(loadConfig(testEnvironment()).redisReplicaAcks.replicas, 0);
    assert.equal(loadConfig(testEnvironment({ REDIS_WAIT_REPLICAS: '1' })).redisReplicaAcks.replicas, 1);
  });

  it('refuses two topologies at once, naming both', () => {
    const listed = problems({ ...CLUSTER, REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.ok(
      listed.some((p) => /REDIS_URL and REDIS_CLUSTER_NODES are set: set exactly one/.test(p)),
      listed.join('\n'),
    );
    const three = problems({ ...SENTINELS, ...CLUSTER, REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.ok(three.some((p) => p.startsWith('REDIS_URL and REDIS_SENTINELS and REDIS_CLUSTER_NODES are set')));
  });

  it('refuses no topology at all', () => {
    assert.ok(problems({ REDIS_URL: undefined }).includes('REDIS_URL is required'));
  });

  it('refuses sentinels without the master name, and the master name without sentinels', () => {
    assert.ok(
      problems({ ...SENTINELS, REDIS_SENTINEL_MASTER: undefined }).includes(
        'REDIS_SENTINEL_MASTER is required when REDIS_SENTINELS is set',
      ),
    );
    assert.ok(
      problems({ REDIS_SENTINEL_MASTER: 'etax' }).includes(
        'REDIS_SENTINELS is required when REDIS_SENTINEL_MASTER is set',
      ),
    );
  });

  it('refuses malformed sentinel addresses, master names and cluster URLs, saying what they must look like', () => {
    const listed = [
      ...problems({ ...SENTINELS, REDIS_SENTINELS: 'redis://10.0.0.1:26379' }),
      ...problems({ ...SENTINELS, REDIS_SENTINEL_MASTER: 'etax master' }),
      ...problems({ ...CLUSTER, REDIS_CLUSTER_NODES: '10.0.0.1:6379' }),
    ];
    assert.ok(
      listed.some((p) => p.includes('REDIS_SENTINELS must be comma-separated host:port')),
      listed.join('\n'),
    );
    assert.ok(
      listed.some((p) => p.includes('REDIS_SENTINEL_MASTER must be the master name')),
      listed.join('\n'),
    );
    assert.ok(
      listed.some((p) => p.includes('REDIS_CLUSTER_NODES must be comma-separated redis://')),
      listed.join('\n'),
    );
  });

  it('refuses cluster nodes that mix redis:// and rediss://', () => {
    const listed = problems({ ...CLUSTER, REDIS_CLUSTER_NODES: 'redis://10.0.0.1:6379,rediss://10.0.0.2:6379' });
    assert.ok(listed.includes('REDIS_CLUSTER_NODES must all use redis:// or all rediss://'), listed.join('\n'));
  });

  it('refuses REDIS_TLS=1 and the sentinel passwords outside a Sentinel topology', () => {
    const listed = problems({ REDIS_TLS: '1', REDIS_SENTINEL_PASSWORD: 'x' });
    assert.ok(
      listed.some((p) => p.startsWith('REDIS_TLS=1 applies to REDIS_SENTINELS')),
      listed.join('\n'),
    );
    assert.ok(listed.includes('REDIS_SENTINELS is required when REDIS_SENTINEL_PASSWORD is set'), listed.join('\n'));
  });

  it('refuses a WAIT timeout outside 10–2000 ms and more than five replicas', () => {
    assert.ok(problems({ REDIS_WAIT_TIMEOUT_MS: '5' }).some((p) => p.startsWith('REDIS_WAIT_TIMEOUT_MS')));
    assert.ok(problems({ REDIS_WAIT_REPLICAS: '6' }).some((p) => p.startsWith('REDIS_WAIT_REPLICAS')));
  });
});
