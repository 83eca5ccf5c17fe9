import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import createHttpError from 'http-errors';
import type { Context } from 'koa';
import type { Metrics } from './Metrics';

export const METRICS_PATH = '/metrics';

/**
 * `GET /metrics`: Prometheus text exposition of `metrics`' own registry.
 *
 * Who may scrape: with METRICS_TOKEN set, a request carrying `Authorization: Bearer <token>`
 * (compared in constant time), from anywhere. Without it, in production nobody (404): a reverse
 * proxy on the same host with a plain `proxy_pass` adds no forwarding header, so "a loopback peer"
 * cannot tell a local scraper from the public. Outside production, only a connection from the
 * loopback interface that no proxy forwarded (no X-Forwarded-For / Forwarded / X-Real-IP header);
 * anyone else gets 404, as if there were no such path. The socket's address is used, never
 * `ctx.ip`, which TRUST_PROXY takes from a header. With a token, a missing or wrong one is a 401 (a
 * misconfigured scraper should say so).
 */
export function metricsRoutes(deps: { metrics: Metrics; token: string | null; production: boolean }): Router {
  const router = new Router();
  const token = deps.token;
  const tokenMatches = token === null ? null : bearerMatches(token);
  router.get(METRICS_PATH, async (ctx) => {
    if (tokenMatches === null) {
      if (deps.production || !fromLoopbackDirectly(ctx)) throw createHttpError(404, 'Not Found');
    } else if (!tokenMatches(ctx)) {
      throw createHttpError(401, 'a valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)', {
        code: 'invalid_metrics_token',
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
      });
    }
    const { contentType, body } = await deps.metrics.expose();
    ctx.set('Cache-Control', 'no-store');
    ctx.type = contentType;
    ctx.body = body;
  });
  return router;
}

/** A connection from this host's loopback interface that no proxy forwarded (the socket's peer, not ctx.ip). */
export function fromLoopbackDirectly(ctx: Context): boolean {
  const peer = ctx.req.socket.remoteAddress ?? '';
  const loopback = peer === '::1' || /^(::ffff:)?127\./.test(peer);
  const forwarded = ['x-forwarded-for', 'forwarded', 'x-real-ip'].some((name) => ctx.get(name) !== '');
  return loopback && !forwarded;
}

/** Whether a request carries `Authorization: Bearer <token>`, compared in constant time. */
export function bearerMatches(token: string): (ctx: Context) => boolean {
  // HMAC both sides to equal lengths so timingSafeEqual can compare them (as requirePortalKey does).
  const macKey = randomBytes(32);
  const digest = (value: string) => createHmac('sha256', macKey).update(value, 'utf8').digest();
  const expected = digest(token);
  return (ctx) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('authorization'));
    return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
  };
}
