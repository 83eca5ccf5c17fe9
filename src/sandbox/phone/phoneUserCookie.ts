import type { Context } from 'koa';
import { H5_SESSIONS } from '../../h5/session/h5Session';
import { SIMULATED_USER_COOKIE } from '../simulator/WeChatSimulator';

/**
 * The phone remembers its user in the simulator's own `wxsim_openid` cookie (path /, so it reaches
 * the simulator under /sandbox/wechat): the phone and the simulated OAuth then always agree on who
 * is holding the phone.
 */
export class PhoneUserCookie {
  constructor(private readonly secure: boolean) {}

  read(ctx: Context): string | null {
    return ctx.cookies.get(SIMULATED_USER_COOKIE) ?? null;
  }

  /**
   * Hands the phone to `openid`. A different user is a different phone: the H5 session of the one
   * before (which holds that user's openid) is dropped, so the next H5 page goes through OAuth again.
   */
  write(ctx: Context, openid: string): void {
    // As in cookieSession: TLS usually ends at the load balancer, and the cookie library must not refuse
    // a Secure cookie because this hop is plain HTTP.
    if (this.secure) (ctx.cookies as unknown as { secure: boolean }).secure = true;
    const options = { httpOnly: true, sameSite: 'lax', secure: this.secure, path: '/', overwrite: true } as const;
    if (this.read(ctx) !== openid) {
      // The H5 session cookie: plain, and __Host- behind HTTPS (cookieSession).
      ctx.cookies.set(this.secure ? `__Host-${H5_SESSIONS.cookieName}` : H5_SESSIONS.cookieName, null, {
        ...options,
        expires: new Date(0),
      });
    }
    // A year: the sandbox phone keeps its user across browser restarts, as a real phone would.
    ctx.cookies.set(SIMULATED_USER_COOKIE, openid, { ...options, maxAge: 365 * 24 * 3600 * 1000 });
  }
}
