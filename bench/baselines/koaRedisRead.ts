// Reference beside P3's baseline: the floor of a ticket read with this stack. The bare Koa route of
// koaJson.ts plus the one Redis round trip a read cannot avoid (HGETALL of the ticket's hash, as
// the product's store does), and nothing else: no security headers, logs, metrics or checks. The
// product can come no closer to bare Koa than this does.
import Router from '@koa/router';
import Koa from 'koa';
import { createClient } from 'redis';
import { tagOf } from '../../src/login/ticketIdentifiers';
import { RedisKeys } from '../../src/store/RedisKeys';
import { serve } from './serve';

const keys = new RedisKeys(process.env.REDIS_KEY_PREFIX ?? '');
const redis = createClient({ url: process.env.REDIS_URL });
const app = new Koa();
const router = new Router();
router.get('/api/login/tickets/:ticketId', async (ctx) => {
  const h = await redis.hGetAll(keys.key('login', `{${tagOf(ctx.params.ticketId!) ?? ''}}`));
  ctx.body = { ticketId: h.tid, status: h.st, expiresAt: new Date(Number(h.ea)).toISOString() };
});
app.use(router.routes());
void redis.connect().then(() => serve(app.callback()));
