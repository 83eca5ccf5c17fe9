import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { bearerMatches, fromLoopbackDirectly } from '../observability/metricsRoutes';
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
 * `memory`, which is ready. Which dependency is down tells an attacker what to hit next: the checks
 * are shown only to a direct loopback connection or a request with METRICS_TOKEN; anyone else
 * (a load balancer's health check included) gets the bare status and the status code.
 */
export function healthRoutes(deps: { db: DataSource; redis: Redis | null; metricsToken: string | null }): Router {
  const router = new Router();
  const tokenMatches = deps.metricsToken === null ? null : bearerMatches(deps.metricsToken);
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
    const status = ready ? 'ready' : 'unavailable';
    const operator = fromLoopbackDirectly(ctx) || (tokenMatches !== null && tokenMatches(ctx));
    ctx.body = operator ? { status, checks: { mysql, redis } } : { status };
  });
  return router;
}
