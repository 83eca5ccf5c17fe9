// Baseline of P3: a bare Koa route (with @koa/router, as the product routes) answering constant JSON
// of the same shape and size as a ticket view.
import Router from '@koa/router';
import Koa from 'koa';
import { serve } from './serve';

const VIEW = {
  ticketId: '0123456789abcdef0123456789abcdef0123456789abcdef',
  status: 'pending',
  expiresAt: '2030-01-01T00:00:00.000Z',
};

const app = new Koa();
const router = new Router();
router.get('/api/login/tickets/:ticketId', (ctx) => {
  ctx.body = VIEW;
});
app.use(router.routes());
serve(app.callback());
