import type { Context } from 'koa';

/** What a login by a portal key without a name of its own (or before keys had names) is shown as. */
export const DEFAULT_PORTAL_NAME = '网上税务局';

/** The name of the portal whose API key the request carried (requirePortalKey sets it). */
export function portalNameOf(ctx: Context): string {
  const key = ctx.state.portalKey as { name?: unknown } | undefined;
  return typeof key?.name === 'string' && key.name !== '' ? key.name : DEFAULT_PORTAL_NAME;
}
