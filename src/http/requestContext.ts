import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logging/createLogger';
import { logSafePath } from './logSafePath';
import type { Metrics } from '../observability/Metrics';
import { routeLabel } from '../observability/routeLabel';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    logger: Logger;
  }
}

/**
 * Gives each request an id (echoed as X-Request-Id) and a child logger carrying it; logs one line per
 * request (method, path, matched route, status, ms) and, given `metrics`, observes its latency.
 */
export function requestContext(logger: Logger, metrics?: Metrics): Middleware {
  // The request line holds only the fields built below, none of them secret: it skips the wildcard
  // redaction, which would double the cost of the line on every request (BENCHMARKS.md, P3).
  const requestLog = logger.child({}, { redact: { paths: [] } });
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9-]{8,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    // Made on first use: most requests log nothing but their request line.
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'logger', { get: () => (child ??= logger.child({ requestId })), enumerable: true, configurable: true });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const route = routeLabel(ctx);
      metrics?.httpRequest(ctx.method, route, ctx.status, ms / 1000);
      // The path only: query strings carry signatures, codes and tickets.
      requestLog.info({ requestId, method: ctx.method, path: logSafePath(ctx.path), route, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
