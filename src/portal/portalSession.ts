import type { Context, Middleware } from 'koa';
import {
  cookieSession,
  type CookieSession,
  type CookieSessionUse,
  type CookieSessionWiring,
} from '../http/session/cookieSession';
import type { SessionData, SessionStore } from '../http/session/SessionStore';
import type { PortalAccount } from './PortalApiClient';

/** What the reference portal remembers about a browser. Nothing in it is unmasked personal data. */
export interface PortalSessionData extends SessionData {
  /** The QR login ticket this browser shows (its id is the browser's secret for polling). */
  ticket?: { id: string; qrcodeUrl: string; expiresAt: string };
  /** The taxpayer, once logged in: the API's answer (`account`), masked as the API sends it. */
  account?: PortalAccount;
  loginMethod?: 'wechat' | 'password';
  loggedInAt?: number;
  /** Where to go after logging in (a /portal/ path the guard sent away from). */
  returnTo?: string;
  /** 忘记密码 in progress: the API's reset id, the masked number it named (if any), whether the code passed. */
  passwordReset?: { id: string; phoneMasked: string | null; verified: boolean };
  /** One message for the next page (after a redirect). */
  flash?: { kind: 'success' | 'error'; text: string };
}

/**
 * The portal's own sessions (src/http/session/cookieSession.ts), apart from the H5 ones (another
 * cookie, another Redis key space), as a separately deployed portal would have: cookie `etax_portal`
 * (`__Host-etax_portal` behind HTTPS), `ctx.state.portalSession`, Redis keys
 * `portal:session:<sha256(id)>`, idle 30 min, absolute 8 h. Written back whenever the data changed,
 * so handlers need not remember to say so.
 */
export const PORTAL_SESSIONS = {
  cookieName: 'etax_portal',
  stateKey: 'portalSession',
  namespace: 'portal',
  idleSeconds: 30 * 60,
  absoluteSeconds: 8 * 3600,
  saveChanges: true,
} as const satisfies CookieSessionUse;

export type PortalSessionStore = SessionStore<PortalSessionData>;

/** A portal session acts for the taxpayer logged in to it. */
export const portalSessionAccount = (data: PortalSessionData): string | undefined => data.account?.id;
export type PortalSession = CookieSession<PortalSessionData>;

declare module 'koa' {
  interface DefaultState {
    portalSession: PortalSession;
  }
}

export const portalSession = (wiring: CookieSessionWiring<PortalSessionData>): Middleware =>
  cookieSession(PORTAL_SESSIONS, wiring);

/** The session of this request, created when there is none. */
export function sessionFor(ctx: Context): PortalSessionData {
  return ctx.state.portalSession.ensure();
}
