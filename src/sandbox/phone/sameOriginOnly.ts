import createHttpError from 'http-errors';
import type { Middleware } from 'koa';

/**
 * Refuses a request addressed to another host name than PUBLIC_URL's. The sandbox's test aids (SMS
 * codes, the phone that pushes as any user) answer on loopback only; a page of another site that
 * has its own name re-resolved to 127.0.0.1 (DNS rebinding) reaches them with its own name in Host,
 * and is refused here. Ports are not compared: a rebinding changes the name, not the port.
 */
export function publicHostOnly(publicUrl: string): Middleware {
  const publicHostname = new URL(publicUrl).hostname;
  return async (ctx, next) => {
    if (ctx.hostname !== publicHostname) {
      throw createHttpError(403, 'the sandbox answers requests addressed to PUBLIC_URL only', {
        code: 'foreign_host',
      });
    }
    await next();
  };
}

/**
 * Refuses a state-changing request that a browser sent from another origin than PUBLIC_URL's: the
 * phone's API sends pushes as any user, so no other site may drive it. The origin is compared with
 * PUBLIC_URL, never built from the request's own Host (which a DNS-rebinding page controls).
 * Requests without an Origin (tests, curl) are no browser's cross-site requests and pass.
 */
export function sameOriginOnly(publicOrigin: string): Middleware {
  return async (ctx, next) => {
    const origin = ctx.get('origin');
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && origin !== '' && origin !== publicOrigin) {
      throw createHttpError(403, 'the sandbox phone accepts requests from its own page only', {
        code: 'foreign_origin',
      });
    }
    await next();
  };
}
