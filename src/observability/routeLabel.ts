import type { Context } from 'koa';
import { UNMATCHED_ROUTE } from './Metrics';

interface MatchedLayer {
  path: unknown;
  methods: string[];
}

/**
 * The route a request matched, as its router declared it (`/api/login/tickets/:ticketId`), never the
 * raw path: ids and tokens in paths would make one series per request. @koa/router lists the layers
 * whose path matched in `ctx.matched`; the route is the last of them that serves the method (so a
 * 401 thrown by a router-wide middleware still counts under its route, not under the middleware's
 * pattern). A request no route served (an unknown path, a wrong method, static files, the H5 OAuth
 * redirect) is UNMATCHED_ROUTE.
 */
export function routeLabel(ctx: Context): string {
  const matched = (ctx as { matched?: MatchedLayer[] }).matched ?? [];
  for (let i = matched.length - 1; i >= 0; i -= 1) {
    const layer = matched[i]!;
    if (typeof layer.path === 'string' && layer.path !== '' && layer.methods.includes(ctx.method)) return layer.path;
  }
  return UNMATCHED_ROUTE;
}
