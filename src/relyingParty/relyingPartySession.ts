import type { Context, Middleware } from 'koa';
import {
  cookieSession,
  type CookieSession,
  type CookieSessionUse,
  type CookieSessionWiring,
} from '../http/session/cookieSession';
import type { SessionData, SessionStore } from '../http/session/SessionStore';

/** What the reference relying party remembers about a browser: the login in progress, then the user. */
export interface RelyingPartySessionData extends SessionData {
  /** The authorization request under way: its PKCE verifier, state and nonce. */
  pending?: { verifier: string; state: string; nonce: string };
  /** The taxpayer as the provider told this site (masked claims only), once logged in. */
  user?: {
    sub: string;
    name?: string;
    acr?: string;
    amr?: string[];
    authTime?: number;
    claims: Record<string, unknown>;
  };
  /** The ID token, as the hint of RP-initiated logout. */
  idToken?: string;
}

/**
 * The relying party's own sessions, apart from the portal's and the H5 pages' (another cookie, another
 * key space), as a separately deployed site would have: cookie `etax_rp`, `ctx.state.rpSession`.
 */
export const RELYING_PARTY_SESSIONS = {
  cookieName: 'etax_rp',
  stateKey: 'rpSession',
  namespace: 'rp',
  idleSeconds: 30 * 60,
  absoluteSeconds: 8 * 3600,
  saveChanges: true,
} as const satisfies CookieSessionUse;

export type RelyingPartySessionStore = SessionStore<RelyingPartySessionData>;

declare module 'koa' {
  interface DefaultState {
    rpSession: CookieSession<RelyingPartySessionData>;
  }
}

export const relyingPartySession = (wiring: CookieSessionWiring<RelyingPartySessionData>): Middleware =>
  cookieSession(RELYING_PARTY_SESSIONS, wiring);

export function rpSessionFor(ctx: Context): RelyingPartySessionData {
  return ctx.state.rpSession.ensure();
}
