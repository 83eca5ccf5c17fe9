import type { Context, Middleware } from 'koa';
import {
  cookieSession,
  type CookieSession,
  type CookieSessionUse,
  type CookieSessionWiring,
} from '../../http/session/cookieSession';
import type { SessionData, SessionStore } from '../../http/session/SessionStore';

/** What an H5 session remembers between requests. */
export interface H5SessionData extends SessionData {
  /** The WeChat user, set once OAuth has told us who it is. */
  openid?: string;
  /**
   * The OAuth `state` and return page of the round trip that identified this session (kept so a
   * callback WeChat repeats after the browser took the new cookie ends on the same page).
   */
  oauthState?: string;
  returnTo?: string;
  /** 实名绑定 in progress: the account that passed step 1 (登录). */
  bind?: { accountId: string; at: number };
  /** The phone that the last SMS code was sent to, for the page after 获取验证码. */
  smsPhone?: string;
  /** 忘记密码 in progress: the recovery's id and the masked number its code went to (none when nothing was sent). */
  passwordReset?: { id: string; phoneMasked: string | null };
}

/**
 * The H5 pages' sessions (src/http/session/cookieSession.ts): cookie `etax_h5` (`__Host-etax_h5`
 * behind HTTPS), `ctx.state.session`, Redis keys `h5:session:<sha256(id)>`, idle 30 min, absolute
 * 8 h. Written back only when a handler says so (touch(), a new or regenerated session) or for the
 * sliding timeout.
 */
export const H5_SESSIONS = {
  cookieName: 'etax_h5',
  stateKey: 'session',
  namespace: 'h5',
  idleSeconds: 30 * 60,
  absoluteSeconds: 8 * 3600,
  saveChanges: false,
} as const satisfies CookieSessionUse;

export type H5SessionStore = SessionStore<H5SessionData>;

/** An H5 session acts for the account that passed 实名绑定's 登录 step in it. */
export const h5SessionAccount = (data: H5SessionData): string | undefined => data.bind?.accountId;
export type H5Session = CookieSession<H5SessionData>;

declare module 'koa' {
  interface DefaultState {
    session: H5Session;
  }
}

export const h5Session = (wiring: CookieSessionWiring<H5SessionData>): Middleware => cookieSession(H5_SESSIONS, wiring);

/** The session of a request that must have one (the OAuth guard ran before). */
export function sessionOf(ctx: Context): H5SessionData {
  const data = ctx.state.session.data;
  if (!data) throw new Error('no H5 session');
  return data;
}
