import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import createHttpError from 'http-errors';
import type { Middleware } from 'koa';
import type { PortalKey, PortalScope } from './PortalKey';

/**
 * Guards a portal API call: `Authorization: Bearer <key>` must be one of PORTAL_API_KEYS (else 401)
 * and the key must hold `scope` (else 403 insufficient_scope). Each side is HMAC'd to 32 bytes first
 * (so lengths leak nothing and timingSafeEqual can run), and every key is compared, so the time
 * taken says nothing about which key, or how much of one, matched. The caller's portal is left in
 * ctx.state.portalKey for audit rows and ticket ownership.
 */
export function requirePortalKey(keys: readonly PortalKey[], scope: PortalScope): Middleware {
  // A per-process MAC key: the digests only need to be comparable within this process.
  const macKey = randomBytes(32);
  const digest = (value: string): Buffer => createHmac('sha256', macKey).update(value, 'utf8').digest();
  const known = keys.map((key) => ({ key, digest: digest(key.secret) }));

  return async (ctx, next) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('authorization'));
    const presented = digest(match?.[1] ?? '');
    let accepted: PortalKey | undefined;
    for (const candidate of known) if (timingSafeEqual(presented, candidate.digest)) accepted ??= candidate.key;
    if (!match || !accepted) {
      // ASVS V16.3.1: a refused key is an authentication failure (the key itself is never logged).
      ctx.state.logger?.warn({ reason: match ? 'unknown_key' : 'no_key' }, 'portal API key refused');
      throw createHttpError(401, 'a valid portal API key is required (Authorization: Bearer <key>)', {
        code: 'invalid_api_key',
        headers: { 'WWW-Authenticate': 'Bearer realm="etax-wechat"' },
      });
    }
    const { name, displayName, scopes } = accepted;
    if (!scopes.has(scope)) {
      // ASVS V8.2.1: a key holds only the scopes its portal needs (least privilege).
      ctx.state.logger?.warn({ portal: name, scope }, 'portal API key lacks the scope of this call');
      throw createHttpError(403, `this portal key does not have the ${scope} scope`, {
        code: 'insufficient_scope',
        headers: { 'WWW-Authenticate': `Bearer realm="etax-wechat", error="insufficient_scope", scope="${scope}"` },
      });
    }
    ctx.state.portalKey = { name, displayName, scopes };
    await next();
  };
}
