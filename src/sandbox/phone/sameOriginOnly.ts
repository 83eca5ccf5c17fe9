import createHttpError from 'http-errors';
import type { Middleware } from 'koa';

/**
 * Refuses a state-changing request that a browser sent from another origin: the phone's API sends
 * pushes as any user, so no other site may drive it. Its own page is PUBLIC_URL's origin, or the
 * host it was opened on. Requests without an Origin (tests, curl) are no browser's cross-site
 * requests and pass.
 */
export function sameOriginOnly(publicOrigin: string): Middleware {
  return async (ctx, next) => {
    const origin = ctx.get('origin');
    // Koa 3's ctx.origin is the Origin header itself, so this host's origin is built here.
    const ownOrigin = `${ctx.protocol}://${ctx.host}`;
    if (
      ctx.method !== 'GET' &&
      ctx.method !== 'HEAD' &&
      origin !== '' &&
      origin !== publicOrigin &&
      origin !== ownOrigin
    ) {
      throw createHttpError(403, 'the sandbox phone accepts requests from its own page only', {
        code: 'foreign_origin',
      });
    }
    await next();
  };
}
