import { timingSafeEqual } from 'node:crypto';
import createHttpError from 'http-errors';
import type { Context, Middleware } from 'koa';

export interface CsrfOptions {
  publicOrigin: string;
  /** The token of the request's session, or undefined when there is no session. */
  sessionToken(ctx: Context): string | undefined;
  /** What the refusal page says. */
  message: string;
}

/**
 * State changes only by POST, each carrying its session's CSRF token as `_csrf` (synchronizer
 * token); a cross-site Origin is refused too. Runs after the form body is parsed.
 */
export function csrfProtection(options: CsrfOptions): Middleware {
  const refused = () => createHttpError(403, options.message, { title: '请求无效' });
  return async (ctx, next) => {
    if (ctx.method !== 'POST') {
      await next();
      return;
    }
    const origin = ctx.get('origin');
    if (origin && origin !== options.publicOrigin) throw refused();
    const expected = options.sessionToken(ctx);
    const given = (ctx.request.body as Record<string, unknown> | undefined)?._csrf;
    if (!expected || typeof given !== 'string') throw refused();
    const a = Buffer.from(expected);
    const b = Buffer.from(given);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw refused();
    await next();
  };
}
