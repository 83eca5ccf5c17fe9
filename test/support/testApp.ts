import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { createApp, type AppOptions } from '../../src/app';
import type { Clock } from '../../src/clock/Clock';
import { loadConfig } from '../../src/config/loadConfig';
import { buildDependencies, closeDependencies, type Dependencies } from '../../src/dependencies';
import type { Logger } from '../../src/logging/createLogger';
import type { Redis } from '../../src/store/createRedis';
import { deleteKeys } from './redisScan';
import { testEnvironment, testRun } from './testEnv';

export interface TestApp {
  deps: Dependencies;
  app: Koa;
  close(): Promise<void>;
}

export interface TestAppOptions extends AppOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  logger?: Logger;
}

/** The real service on this run's MariaDB database and Redis prefix. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig(testEnvironment(options.env));
  const deps = await buildDependencies(config, {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const app = createApp(deps, options);
  return { deps, app, close: () => closeDependencies(deps) };
}

/**
 * Empties the tables and this run's Redis keys between tests. An app on REDIS_URL=memory keeps its
 * stores in itself: only a new app starts them empty.
 */
export async function resetState(deps: Dependencies): Promise<void> {
  // Children first, so the foreign key never objects.
  for (const table of ['audit_events', 'wechat_bindings', 'accounts']) await deps.db.query(`DELETE FROM \`${table}\``);
  const redis = deps.redis;
  if (!redis) return;
  await deleteKeys(redis, `${testRun.redisPrefix}*`);
}

/** The Redis client of an app built on Redis (every test environment but REDIS_URL=memory). */
export function redisOf(deps: Dependencies): Redis {
  if (!deps.redis) throw new Error('this app keeps its stores in memory (REDIS_URL=memory): it has no Redis client');
  return deps.redis;
}

/** Listens on an ephemeral loopback port; returns the base URL and a closer. */
export async function listen(
  handler: Koa | { callback(): (...args: never[]) => unknown },
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer(handler.callback() as Parameters<typeof createServer>[0]);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The real service listening on a loopback port that PUBLIC_URL names, with the simulator it
 * serves under /sandbox/wechat as its WeChat: what a browser needs (redirects to real URLs).
 */
export async function startLiveApp(options: TestAppOptions = {}): Promise<TestApp & { url: string }> {
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const simulator = `${url}/sandbox/wechat`;
  const t = await createTestApp({
    ...options,
    env: {
      PUBLIC_URL: url,
      SANDBOX: '1',
      WECHAT_API_BASE: simulator,
      WECHAT_OPEN_BASE: simulator,
      WECHAT_MP_BASE: simulator,
      // IDENTITY_VERIFIER=tencentcloud asks this app's own 实名核身 stand-in, as the demo does.
      ...(options.env?.IDENTITY_VERIFIER === 'tencentcloud'
        ? {
            TENCENTCLOUD_FACEID_URL: `${url}/sandbox/faceid`,
            TENCENTCLOUD_SECRET_ID: 'AKIDlive',
            TENCENTCLOUD_SECRET_KEY: 'live-faceid-secret',
          }
        : {}),
      ...options.env,
    },
  });
  const server = t.app.listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    ...t,
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    },
  };
}
