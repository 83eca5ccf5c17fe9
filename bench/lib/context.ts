import path from 'node:path';
import { spawnServer, type ChildServer } from './child';
import { callJson } from './http';
import type { BenchRun } from './settings';
import { productEnvironment } from './settings';
import type { Connection } from 'mysql2/promise';
import type { MeterReading } from './meter';
import type { BenchRedis } from './storage';

export interface Settings {
  quick: boolean;
  /** Connections of every throughput scenario. */
  connections: number;
  /** Seconds of one measured run, of a warm-up, and how many measured runs (the median is reported). */
  durationS: number;
  warmupS: number;
  runs: number;
  logLevel: string;
  /** Profile scenarios that miss their target (node --cpu-prof on a separate instance). */
  profile: 'auto' | 'always' | 'never';
  /** Keep the product instances' JSON logs (stdout) in the run's logs/ directory instead of discarding them. */
  keepLogs: boolean;
  /** How long to wait, at most, for the machine to be quiet before each measured run. */
  quietWaitS: number;
}

export interface ProductOptions {
  nodeArgs?: string[];
  /** Added to (or replacing) the product's environment. */
  env?: Record<string, string>;
  /** The Redis topology's settings instead of the run's single node (see productEnvironment). */
  redis?: Record<string, string>;
}

export interface BenchContext {
  settings: Settings;
  run: BenchRun;
  redis: BenchRedis;
  simulator: ChildServer;
  /** The long-lived product instance ("A"); scenarios start others as they need them. */
  product: ChildServer;
  /** Bound WeChat users (openids) seeded through instance A's services: the few whose scans hit the bound-account cache. */
  openids: string[];
  /** A population of bound users large enough that every scan of a run is another's (seeded in bulk on first use). */
  population(): Promise<string[]>;
  outDir: string;
  log(message: string): void;
  /** Starts measuring CPU per process (load generator, MariaDB, Redis, simulator + `servers`) and MariaDB/Redis work. */
  meter(servers: Record<string, number>): Promise<() => Promise<MeterReading>>;
  /** An admin connection to the MariaDB server (status counters). */
  admin: Connection;
  startProduct(name: string, options?: ProductOptions): Promise<ChildServer>;
  startBaseline(file: string, options?: { nodeArgs?: string[]; env?: Record<string, string> }): Promise<ChildServer>;
}

export function makeStarters(
  run: BenchRun,
  outDir: string,
  settings: Settings,
  simulatorUrl: () => string,
  track: (c: ChildServer) => void,
) {
  const logs = path.join(outDir, 'logs');
  return {
    startProduct: async (name: string, options: ProductOptions = {}) => {
      const server = await spawnServer({
        name: `product ${name}`,
        file: 'bench/productServer.ts',
        env: { ...productEnvironment(run, simulatorUrl(), settings.logLevel, options.redis), ...(options.env ?? {}) },
        nodeArgs: options.nodeArgs ?? [],
        ...(settings.keepLogs ? { stdoutFile: path.join(logs, `product-${name}.stdout.log`) } : {}),
        stderrFile: path.join(logs, `product-${name}.stderr.log`),
      });
      track(server);
      // First WeChat API call fetches the shared token; make sure the instance answers at all.
      await callJson('GET', `${server.url}/__bench/stats`);
      return server;
    },
    startBaseline: async (file: string, options: { nodeArgs?: string[]; env?: Record<string, string> } = {}) => {
      const server = await spawnServer({
        name: `baseline ${path.basename(file, '.ts')}`,
        file,
        env: options.env ?? {},
        nodeArgs: options.nodeArgs ?? [],
        stderrFile: path.join(logs, `${path.basename(file, '.ts')}.stderr.log`),
      });
      track(server);
      return server;
    },
  };
}
