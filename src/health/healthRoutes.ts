import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import type { Redis } from '../store/createRedis';
import { isCluster } from '../store/RedisSubscription';

const CHECK_TIMEOUT_MS = 1000;

/** Every primary answers: a Cluster with one primary down cannot serve that primary's slots. */
async function pingPrimaries(client: Redis): Promise<void> {
  if (isCluster(client)) {
    await Promise.all(client.masters.map(async (master) => (await client.nodeClient(master)).ping()));
  } else {
    await client.ping();
  }
}

async function check(probe: () => Promise<unknown>): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz`: the process answers. `/readyz`: MySQL and Redis answer too (every Redis primary: one
 * node, the Sentinel's current primary, or each Cluster primary), so it may take traffic.
 * Without Redis (REDIS_URL=memory, `redis: null`) the stores live in this process: `redis` reads
 * `memory`, which is ready.
 */
export function healthRoutes(deps: { db: DataSource; redis: Redis | null }): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const client = deps.redis;
    const [mysql, redis] = await Promise.all([
      check(() => deps.db.query('SELECT 1')),
      client ? check(() => pingPrimaries(client)) : Promise.resolve('memory' as const),
    ]);
    const ready = mysql === 'ok' && redis !== 'down';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks: { mysql, redis } };
  });
  return router;
}
