import { randomBytes } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Clock } from '../../clock/Clock';
import type { SessionData, SessionStore } from './SessionStore';

/** The request's session; created lazily, saved after the request when anything changed. */
export interface CookieSession<T extends SessionData> {
  readonly data: T | null;
  /** The session, creating a fresh one when there is none (also after destroy()). */
  ensure(): T;
  /** New id and CSRF token, same data, old id destroyed: after each successful login step (no session fixation). */
  regenerate(): Promise<void>;
  destroy(): Promise<void>;
  /** Marks the data changed so it is written back. */
  touch(): void;
  /** Answers with the cookie of another, existing session (a repeated H5 OAuth callback, see oauthRoutes). */
  adopt(sessionId: string): void;
  /** The current id (e.g. for linking a repeated OAuth callback to the session the first one created). */
  readonly id: string | null;
  /** True when the request came with a session cookie that had expired or was unknown. */
  readonly expired: boolean;
}

/** What one use of sessions (the H5 pages, the reference portal) sets; everything else is common. */
export interface CookieSessionUse {
  /** The cookie's name; behind HTTPS (`secure`) it takes the __Host- prefix. */
  cookieName: string;
  /** Where handlers find the session: `ctx.state[stateKey]` (declare its type on koa's DefaultState). */
  stateKey: string;
  /** The Redis key namespace: sessions live at `<prefix><namespace>:session:<sha256(id)>` (RedisSessionStore). */
  namespace: string;
  idleSeconds: number;
  absoluteSeconds: number;
  /**
   * True: the data is written back whenever it differs from what was read, as well as after touch().
   * False: only after touch() (or a new, regenerated session), so handlers say when they changed it.
   */
  saveChanges: boolean;
}

/** What a use of sessions is given where it is wired. */
export interface CookieSessionWiring<T extends SessionData> {
  store: SessionStore<T>;
  clock: Clock;
  /** True behind HTTPS (PUBLIC_URL is https): the cookie is Secure and takes the __Host- prefix. */
  secure: boolean;
}

const newId = () => randomBytes(32).toString('base64url');
const newCsrfToken = () => randomBytes(32).toString('base64url');

/**
 * Server-side sessions: a 256-bit random id in an HttpOnly, SameSite=Lax, Path=/ cookie (Secure
 * with the __Host- prefix behind HTTPS), the data in the store; idle (sliding) and absolute
 * timeouts, also as the store's time to live.
 */
export function cookieSession<T extends SessionData>(
  use: CookieSessionUse,
  wiring: CookieSessionWiring<T>,
): Middleware {
  const cookieName = wiring.secure ? `__Host-${use.cookieName}` : use.cookieName;
  const { idleSeconds: idle, absoluteSeconds: absolute } = use;
  const { store } = wiring;

  return async (ctx, next) => {
    // PUBLIC_URL says the public side is HTTPS; TLS usually ends at the load balancer, so the
    // cookie library must not refuse a Secure cookie because this hop is plain HTTP.
    if (wiring.secure) (ctx.cookies as unknown as { secure: boolean }).secure = true;
    const now = wiring.clock.now();
    let id = ctx.cookies.get(cookieName) ?? null;
    let data: T | null = null;
    let expired = false;
    if (id && /^[A-Za-z0-9_-]{43}$/.test(id)) {
      data = await store.get(id);
      if (data && (now - data.lastSeenAt > idle * 1000 || now - data.createdAt > absolute * 1000)) {
        await store.destroy(id);
        data = null;
      }
      expired = data === null;
    } else if (id) {
      expired = true;
    }
    if (!data) id = null;
    const loaded = use.saveChanges && data ? JSON.stringify(data) : null;
    let dirty = false;

    const setCookie = (value: string | null) => {
      ctx.cookies.set(cookieName, value, {
        httpOnly: true,
        sameSite: 'lax',
        secure: wiring.secure,
        path: '/',
        overwrite: true,
        ...(value === null ? { expires: new Date(0) } : {}),
      });
    };

    const session: CookieSession<T> = {
      get data() {
        return data;
      },
      expired,
      ensure() {
        if (!data) {
          // The use's own fields are all optional: a fresh session holds only the common ones.
          data = { csrfToken: newCsrfToken(), createdAt: now, lastSeenAt: now } as T;
          id = newId();
          dirty = true;
          setCookie(id);
        }
        return data;
      },
      async regenerate() {
        if (!data) return;
        if (id) await store.destroy(id);
        id = newId();
        data.csrfToken = newCsrfToken();
        dirty = true;
        setCookie(id);
      },
      async destroy() {
        if (id) await store.destroy(id);
        data = null;
        id = null;
        setCookie(null);
      },
      touch() {
        dirty = true;
      },
      adopt(sessionId: string) {
        data = null;
        id = null;
        setCookie(sessionId);
      },
      get id() {
        return id;
      },
    };
    (ctx.state as Record<string, unknown>)[use.stateKey] = session;
    await next();

    // Destroyed or adopted (and not started again), or never started: nothing to write.
    if (!data || !id) return;
    // Sliding idle timeout: written back at most once a minute when nothing else changed.
    if (dirty || (use.saveChanges && JSON.stringify(data) !== loaded) || now - data.lastSeenAt > 60_000) {
      data.lastSeenAt = now;
      const remainingAbsolute = absolute - (now - data.createdAt) / 1000;
      await store.set(id, data, Math.min(idle, remainingAbsolute));
    }
  };
}
