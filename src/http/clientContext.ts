import type { Context } from 'koa';

/** Who is asking, for audit events and the confirm page: the client IP and a bounded user agent. */
export interface ClientContext {
  ip: string;
  userAgent: string;
}

export function clientContext(ctx: Context): ClientContext {
  return { ip: ctx.ip, userAgent: ctx.get('user-agent').slice(0, 512) };
}
