import type { Context, Next } from 'koa';
import { setTimeout as delay } from 'node:timers/promises';

/** How a request should misbehave: a WeChat error, an HTTP failure, or a slow answer. */
export type Fault = { errcode: number; errmsg: string } | { status: number } | { hangMs: number };

interface PendingFault {
  pathSuffix: string;
  fault: Fault;
  remaining: number;
}

/** Faults queued by tests, consumed first-in first-out by the requests whose path they match. */
export class FaultInjector {
  private pending: PendingFault[] = [];

  failNext(pathSuffix: string, fault: Fault, times = 1): void {
    if (times > 0) this.pending.push({ pathSuffix, fault, remaining: times });
  }

  reset(): void {
    this.pending = [];
  }

  /** Koa middleware; a hang uses real time because it exists to trip the client's HTTP timeout. */
  readonly middleware = async (ctx: Context, next: Next): Promise<void> => {
    const fault = this.take(ctx.path);
    if (!fault) {
      await next();
      return;
    }
    if ('hangMs' in fault) {
      await delay(fault.hangMs);
      await next();
      return;
    }
    if ('status' in fault) {
      ctx.status = fault.status;
      ctx.type = 'text/plain';
      ctx.body = 'Internal Server Error';
      return;
    }
    ctx.body = { errcode: fault.errcode, errmsg: fault.errmsg };
  };

  private take(path: string): Fault | undefined {
    const entry = this.pending.find((candidate) => path.endsWith(candidate.pathSuffix));
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.pending.splice(this.pending.indexOf(entry), 1);
    return entry.fault;
  }
}
