import { timingSafeEqual } from 'node:crypto';
import createHttpError from 'http-errors';
import type { Middleware } from 'koa';

const refused = () => createHttpError(403, '页面已过期，请返回重新操作。', { title: '请求无效' });

/**
 * State changes only by POST, each carrying the session's CSRF token (synchronizer token); a
 * cross-site Origin is refused too. Runs after the form body is parsed.
 */
export function csrfProtection(publicOrigin: string): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST') return next();
    const origin = ctx.get('origin');
    if (origin && origin !== publicOrigin) throw refused();
    const expected = ctx.state.session.data?.csrfToken;
    const given = (ctx.request.body as Record<string, unknown> | undefined)?._csrf;
    if (!expected || typeof given !== 'string') throw refused();
    const a = Buffer.from(expected);
    const b = Buffer.from(given);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw refused();
    return next();
  };
}
