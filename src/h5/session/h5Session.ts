import { randomBytes } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Clock } from '../../clock/Clock';
import type { H5SessionData, SessionStore } from './SessionStore';

export interface H5SessionOptions {
  store: SessionStore;
  clock: Clock;
  /** True behind HTTPS: the cookie is Secure and takes the __Host- prefix. */
  secure: boolean;
  idleSeconds?: number;
  absoluteSeconds?: number;
}

/** The request's session; created lazily, saved after the request when anything changed. */
export interface H5Session {
  readonly data: H5SessionData | null;
  /** The session, creating a fresh one when there is none. */
  ensure(): H5SessionData;
  /** New id, same data, old id destroyed: after each successful login step (no session fixation). */
  regenerate(): Promise<void>;
  destroy(): Promise<void>;
  /** Marks the data changed so it is written back. */
  touch(): void;
  /** Answers with the cookie of another, existing session (a repeated OAuth callback, see oauthRoutes). */
  adopt(sessionId: string): void;
  /** The current id, for linking a repeated OAuth callback to the session the first one created. */
  readonly id: string | null;
  /** True when the request came with a session cookie that had expired or was unknown. */
  readonly expired: boolean;
}

declare module 'koa' {
  interface DefaultState {
    session: H5Session;
  }
}

const newId = () => randomBytes(32).toString('base64url');
const newCsrfToken = () => randomBytes(32).toString('base64url');

export const IDLE_SECONDS = 30 * 60;
export const ABSOLUTE_SECONDS = 8 * 3600;

/**
 * Server-side sessions for the H5 pages: a 256-bit random id in an HttpOnly, SameSite=Lax cookie
 * (Secure with the __Host- prefix behind HTTPS), the data in the store; idle and absolute timeouts.
 */
export function h5Session(options: H5SessionOptions): Middleware {
  const cookieName = options.secure ? '__Host-etax_h5' : 'etax_h5';
  const idle = options.idleSeconds ?? IDLE_SECONDS;
  const absolute = options.absoluteSeconds ?? ABSOLUTE_SECONDS;

  return async (ctx, next) => {
    // PUBLIC_URL says the public side is HTTPS; TLS usually ends at the load balancer, so the
    // cookie library must not refuse a Secure cookie because this hop is plain HTTP.
    if (options.secure) (ctx.cookies as unknown as { secure: boolean }).secure = true;
    const now = options.clock.now();
    let id = ctx.cookies.get(cookieName) ?? null;
    let data: H5SessionData | null = null;
    let expired = false;
    if (id && /^[A-Za-z0-9_-]{43}$/.test(id)) {
      data = await options.store.get(id);
      if (data && (now - data.lastSeenAt > idle * 1000 || now - data.createdAt > absolute * 1000)) {
        await options.store.destroy(id);
        data = null;
      }
      expired = data === null;
    } else if (id) {
      expired = true;
    }
    if (!data) id = null;
    let dirty = false;
    let destroyed = false;

    const setCookie = (value: string | null) => {
      ctx.cookies.set(cookieName, value, {
        httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/', overwrite: true,
        ...(value === null ? { expires: new Date(0) } : {}),
      });
    };

    const session: H5Session = {
      get data() {
        return data;
      },
      expired,
      ensure() {
        if (!data) {
          data = { csrfToken: newCsrfToken(), createdAt: now, lastSeenAt: now };
          id = newId();
          dirty = true;
          setCookie(id);
        }
        return data;
      },
      async regenerate() {
        if (!data) return;
        if (id) await options.store.destroy(id);
        id = newId();
        data.csrfToken = newCsrfToken();
        dirty = true;
        setCookie(id);
      },
      async destroy() {
        if (id) await options.store.destroy(id);
        data = null;
        id = null;
        destroyed = true;
        setCookie(null);
      },
      touch() {
        dirty = true;
      },
      adopt(sessionId: string) {
        data = null;
        id = null;
        destroyed = true;
        setCookie(sessionId);
      },
      get id() {
        return id;
      },
    };
    ctx.state.session = session;
    await next();

    if (destroyed || !data || !id) return;
    // Sliding idle timeout: written back at most once a minute when nothing else changed.
    if (dirty || now - data.lastSeenAt > 60_000) {
      data.lastSeenAt = now;
      const remainingAbsolute = absolute - (now - data.createdAt) / 1000;
      await options.store.set(id, data, Math.min(idle, remainingAbsolute));
    }
  };
}

/** The session of a request that must have one (the OAuth guard ran before). */
export function sessionOf(ctx: Context): H5SessionData {
  const data = ctx.state.session.data;
  if (!data) throw new Error('no H5 session');
  return data;
}
