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

/** ctx.state of every request: its id, and a child logger carrying it, made on first use (most requests log only their request line). */
class RequestState {
  private child: Logger | undefined;

  constructor(
    readonly requestId: string,
    private readonly parent: Logger,
  ) {}

  get logger(): Logger {
    this.child ??= this.parent.child({ requestId: this.requestId });
    return this.child;
  }
}

/**
 * Gives each request an id (echoed as X-Request-Id) and a child logger carrying it; logs one line per
 * request (method, path, matched route, status, ms) and, given `metrics`, observes its latency.
 */
export function requestContext(logger: Logger, metrics?: Metrics): Middleware {
  // The request line holds only the fields built below, none of them secret: it skips the wildcard
  // redaction, which would double the cost of the line on every request (BENCHMARKS.md).
  const requestLog = logger.child({}, { redact: { paths: [] } });
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9-]{8,64}$/.test(incoming) ? incoming : randomUUID();
    // The other fields of DefaultState (sessions, the push being handled) are added by later middleware.
    ctx.state = new RequestState(requestId, logger) as unknown as typeof ctx.state;
    ctx.set('x-request-id', requestId);
    const started = process.hrtime.bigint();
    const finish = () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const route = routeLabel(ctx);
      // A route that answers by itself later (ctx.respond = false: a held long-poll) set the status on res.
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      metrics?.httpRequest(ctx.method, route, status, ms / 1000);
      // The path only: query strings carry signatures, codes and tickets.
      requestLog.info(
        { requestId, method: ctx.method, path: logSafePath(ctx.path), route, status, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    };
    try {
      await next();
    } finally {
      // 'close' comes once per response: `on` spares the wrapper `once` would keep per held poll.
      if (ctx.respond === false && !ctx.res.writableFinished) ctx.res.on('close', finish);
      else finish();
    }
  };
}
