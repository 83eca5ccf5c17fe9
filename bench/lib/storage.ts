import { createConnection } from 'mysql2/promise';
import { createClient } from 'redis';
import { connectDataSource } from '../../src/db/connectDataSource';
import type { BenchRun } from './settings';

export type BenchRedis = ReturnType<typeof createClient>;

/** Creates this run's database and applies the migrations (as test/support/rootHooks.ts does). */
export async function createDatabase(run: BenchRun): Promise<void> {
  let admin;
  try {
    admin = await createConnection({ uri: run.serverUrl, connectTimeout: 3000 });
  } catch (error) {
    throw new Error(
      `MariaDB/MySQL is not reachable at ${run.serverUrl} (${(error as Error).message}); start it or set BENCH_DATABASE_URL`,
      { cause: error },
    );
  }
  try {
    await admin.query(`CREATE DATABASE \`${run.databaseName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  const db = await connectDataSource(run.databaseUrl);
  try {
    await db.runMigrations();
  } finally {
    await db.destroy();
  }
}

export async function dropDatabase(run: BenchRun): Promise<void> {
  const admin = await createConnection({ uri: run.serverUrl, connectTimeout: 3000 });
  try {
    await admin.query(`DROP DATABASE IF EXISTS \`${run.databaseName}\``);
  } finally {
    await admin.end();
  }
}

export async function connectBenchRedis(run: BenchRun): Promise<BenchRedis> {
  const redis = createClient({ url: run.redisUrl, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `Redis is not reachable at ${run.redisUrl} (${(error as Error).message}); start it or set BENCH_REDIS_URL`,
      { cause: error },
    );
  }
  return redis;
}

/** Every key matching `pattern` (which must lie under this run's prefix). */
export async function keysMatching(redis: BenchRedis, pattern: string, limit = 1_000_000): Promise<string[]> {
  const found: string[] = [];
  for await (const keys of redis.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    found.push(...keys);
    if (found.length >= limit) break;
  }
  return found;
}

/** Deletes every key matching `pattern` (under this run's prefix); returns how many. */
export async function deleteMatching(redis: BenchRedis, run: BenchRun, pattern: string): Promise<number> {
  if (!pattern.startsWith(run.redisPrefix)) throw new Error(`refusing to delete outside the run prefix: ${pattern}`);
  let deleted = 0;
  for await (const keys of redis.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    if (keys.length > 0) deleted += await redis.unlink(keys);
  }
  return deleted;
}

export async function usedMemory(redis: BenchRedis): Promise<number> {
  const info = String(await redis.info('memory'));
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

export async function memoryUsage(redis: BenchRedis, key: string): Promise<number> {
  // SAMPLES 0: every field of the hash is counted, not an estimate from a sample.
  return Number(await redis.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']));
}

/**
 * Empties the login QR pool of this run (every scene, lease and index under the {qrpool} tag). The pool
 * is shared by every instance through Redis, so scenes left by an earlier scenario (P6's 10,000 tickets)
 * would otherwise serve the next one's tickets without any WeChat call: P7 would make no token fetch,
 * and P8's first day and P9's empty pool would not start empty.
 */
export async function emptyQrPool(redis: BenchRedis, run: BenchRun): Promise<number> {
  return deleteMatching(redis, run, `${run.redisPrefix}qrpool:*`);
}
