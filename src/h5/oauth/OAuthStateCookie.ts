import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Clock } from '../../clock/Clock';

/** An OAuth round trip in progress: the `state` sent to WeChat and the page to return to. */
export interface OAuthRoundTrip {
  state: string;
  returnTo: string;
}

/** WeChat's OAuth codes live 5 minutes; a round trip started longer ago is started again. */
export const OAUTH_STATE_MAX_AGE_SECONDS = 300;
const MAX_RETURN_TO_LENGTH = 1024;
// Fixed, public HKDF salt and label: they only separate this subkey from SESSION_SECRET's other uses.
const HKDF_SALT = Buffer.from('etax-wechat/h5-oauth-state');

/**
 * The OAuth `state` of a visitor not yet identified, kept in the visitor's own browser: a cookie
 * (`etax_h5_oauth`, `__Host-` behind HTTPS; HttpOnly, SameSite=Lax so WeChat's top-level redirect
 * back carries it) holding the state, the page to return to and the time, under an HMAC-SHA256 with
 * a subkey of SESSION_SECRET, good for 5 minutes. Nothing is stored on the server until OAuth says
 * who the visitor is, so a flood of cookieless page views costs no memory and no Redis keys.
 */
export class OAuthStateCookie {
  private readonly key: Buffer;
  private readonly name: string;

  constructor(private readonly options: { secret: string; clock: Clock; secure: boolean }) {
    this.key = Buffer.from(hkdfSync('sha256', options.secret, HKDF_SALT, 'v1 oauth state cookie', 32));
    this.name = options.secure ? '__Host-etax_h5_oauth' : 'etax_h5_oauth';
  }

  /** Starts a round trip: a fresh 128-bit state, set in the cookie. */
  start(ctx: Context, returnTo: string): OAuthRoundTrip {
    const trip = {
      state: randomBytes(16).toString('hex'),
      returnTo: returnTo.length <= MAX_RETURN_TO_LENGTH ? returnTo : '/h5/bind',
    };
    const payload = Buffer.from(JSON.stringify({ ...trip, at: this.options.clock.now() })).toString('base64url');
    this.set(ctx, `${payload}.${this.mac(payload)}`, OAUTH_STATE_MAX_AGE_SECONDS * 1000);
    return trip;
  }

  /** The round trip this browser started, when its cookie is intact and recent enough. */
  read(ctx: Context): OAuthRoundTrip | null {
    const value = ctx.cookies.get(this.name);
    const dot = value?.indexOf('.') ?? -1;
    if (!value || dot < 0 || value.length > 4096) return null;
    const payload = value.slice(0, dot);
    const mac = Buffer.from(value.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.mac(payload), 'base64url');
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return null;
    const trip = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as OAuthRoundTrip & { at: number };
    const age = this.options.clock.now() - trip.at;
    if (age < 0 || age > OAUTH_STATE_MAX_AGE_SECONDS * 1000) return null;
    return { state: trip.state, returnTo: trip.returnTo };
  }

  /** The round trip is over: the browser forgets it. */
  clear(ctx: Context): void {
    this.set(ctx, null, 0);
  }

  private set(ctx: Context, value: string | null, maxAge: number): void {
    ctx.cookies.set(this.name, value, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.options.secure,
      path: '/',
      overwrite: true,
      ...(value === null ? { expires: new Date(0) } : { maxAge }),
    });
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
