import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createConnection } from 'mysql2/promise';
import type { createClient } from 'redis';

export interface Machine {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  redis: string;
  mariadb: string;
  autocannon: string;
  fdLimit: string;
}

export async function describeMachine(
  redis: ReturnType<typeof createClient>,
  databaseServerUrl: string,
): Promise<Machine> {
  const info = String(await redis.info('server'));
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  const admin = await createConnection({ uri: databaseServerUrl });
  let mariadb: string;
  try {
    const [rows] = await admin.query('SELECT VERSION() AS v');
    mariadb = String((rows as { v: string }[])[0]?.v ?? 'unknown');
  } finally {
    await admin.end();
  }
  let fdLimit = 'unknown';
  try {
    fdLimit =
      /Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.slice(1).join(' soft / ') ??
      fdLimit;
    fdLimit += ' hard';
  } catch {
    /* not Linux */
  }
  const autocannonVersion = (
    JSON.parse(readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as { version: string }
  ).version;
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
    mariadb,
    autocannon: autocannonVersion,
    fdLimit,
  };
}
