import { timingSafeEqual } from 'node:crypto';
import createHttpError from 'http-errors';
import type { Middleware } from 'koa';

/**
 * Every POST to the portal carries its session's token (synchronizer token, in the form body as
 * `_csrf`; the page's script sends the same field), and a cross-site Origin is refused too.
 */
export function portalCsrf(publicOrigin: string): Middleware {
  const refused = () => createHttpError(403, '页面已过期或请求来源无效，请返回重新操作。', { title: '请求无效' });
  return async (ctx, next) => {
    if (ctx.method !== 'POST') return next();
    const origin = ctx.get('origin');
    if (origin && origin !== publicOrigin) throw refused();
    const expected = ctx.state.portalSession.data?.csrfToken;
    const given = (ctx.request.body as Record<string, unknown> | undefined)?._csrf;
    if (!expected || typeof given !== 'string') throw refused();
    const a = Buffer.from(expected);
    const b = Buffer.from(given);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw refused();
    return next();
  };
}
