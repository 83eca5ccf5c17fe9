import createHttpError from 'http-errors';
import type { Middleware } from 'koa';

/** What a portal API key may do (the `password` scope: 修改密码 and 忘记密码 on behalf of taxpayers). */
export type PortalScopeName = 'login' | 'bindings' | 'authenticate' | 'password';

/**
 * Runs after requirePortalKey: refuses (403 `insufficient_scope`) a key whose scopes, as
 * requirePortalKey records them in `ctx.state.portalKey`, do not include `scope`. A key recorded
 * without scopes (keys configured as bare strings) may do everything.
 */
export function requirePortalScope(scope: PortalScopeName): Middleware {
  return async (ctx, next) => {
    const scopes = (ctx.state as { portalKey?: { scopes?: ReadonlySet<string> } }).portalKey?.scopes;
    if (scopes && !scopes.has(scope))
      throw createHttpError(403, `this portal API key lacks the ${scope} scope`, { code: 'insufficient_scope' });
    await next();
  };
}

/** The portal a call came from, as audit rows name it (`detail.portal`). */
export function portalNameOf(state: unknown): string {
  return (state as { portalKey?: { name?: string } }).portalKey?.name ?? 'portal';
}
