/** What a portal API key may do: each call of the portal API needs one scope (openapi/portal.yaml). */
export const PORTAL_SCOPES = ['login', 'bindings', 'authenticate', 'password'] as const;
export type PortalScope = (typeof PORTAL_SCOPES)[number];

/** One key of PORTAL_API_KEYS: which portal it is, what the phone calls it, what it may do, and its secret. */
export interface PortalKey {
  /** Recorded in audit rows (detail.portal) and on the tickets it creates; keys sharing a name are one portal (rotation). */
  name: string;
  /** Shown on the phone's confirm page: "<displayName> 请求登录". */
  displayName: string;
  scopes: ReadonlySet<PortalScope>;
  secret: string;
}

/** A bare key (the format before names and scopes): one portal with every scope. */
export const UNNAMED_PORTAL = { name: 'portal', displayName: '网上税务局' } as const;

/** Who called, as requirePortalKey leaves it in ctx.state.portalKey. */
export interface AuthenticatedPortal {
  name: string;
  displayName: string;
  scopes: ReadonlySet<PortalScope>;
}

declare module 'koa' {
  interface DefaultState {
    portalKey?: AuthenticatedPortal;
  }
}
