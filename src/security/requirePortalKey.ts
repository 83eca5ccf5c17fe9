import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import createHttpError from 'http-errors';
import type { Middleware } from 'koa';

/**
 * Guards the portal API: `Authorization: Bearer <key>` must be one of PORTAL_API_KEYS. Each side is
 * HMAC'd to 32 bytes first (so lengths leak nothing and timingSafeEqual can run), and every key is
 * compared, so the time taken says nothing about which key, or how much of one, matched.
 */
export function requirePortalKey(apiKeys: readonly string[]): Middleware {
  // A per-process MAC key: the digests only need to be comparable within this process.
  const macKey = randomBytes(32);
  const digest = (value: string): Buffer => createHmac('sha256', macKey).update(value, 'utf8').digest();
  const known = apiKeys.map(digest);

  return async (ctx, next) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('authorization'));
    const presented = digest(match?.[1] ?? '');
    let accepted = false;
    for (const key of known) accepted = timingSafeEqual(presented, key) || accepted;
    if (!match || !accepted) {
      // ASVS V16.3.1: a refused key is an authentication failure (the key itself is never logged).
      ctx.state.logger?.warn({ reason: match ? 'unknown_key' : 'no_key' }, 'portal API key refused');
      throw createHttpError(401, 'a valid portal API key is required (Authorization: Bearer <key>)', {
        code: 'invalid_api_key',
        headers: { 'WWW-Authenticate': 'Bearer realm="etax-wechat"' },
      });
    }
    await next();
  };
}
