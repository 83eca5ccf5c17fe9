import { createHash, randomBytes } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Clock } from '../clock/Clock';
import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import type { PortalAccount } from './PortalApiClient';

/** What the reference portal remembers about a browser. Nothing in it is unmasked personal data. */
export interface PortalSessionData {
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** The QR login ticket this browser shows (its id is the browser's secret for polling). */
  ticket?: { id: string; qrcodeUrl: string; expiresAt: string };
  /** The taxpayer, once logged in: the API's answer (`account`), masked as the API sends it. */
  account?: PortalAccount;
  loginMethod?: 'wechat' | 'password';
  loggedInAt?: number;
  /** Where to go after logging in (a /portal/ path the guard sent away from). */
  returnTo?: string;
  /** One message for the next page (after a redirect). */
  flash?: { kind: 'success' | 'error'; text: string };
}

/** Portal sessions by id, each expiring after ttlSeconds unless written again. */
export interface PortalSessionStore {
  get(id: string): Promise<PortalSessionData | null>;
  set(id: string, data: PortalSessionData, ttlSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
}

const hashed = (id: string) => createHash('sha256').update(id).digest('hex');

/** In Redis under a hash of the id (reading Redis yields no usable cookie), apart from the H5 sessions. */
export class RedisPortalSessionStore implements PortalSessionStore {
  constructor(private readonly redis: Redis, private readonly keys: RedisKeys) {}

  private key(id: string): string {
    return this.keys.key('portal', 'session', hashed(id));
  }

  async get(id: string): Promise<PortalSessionData | null> {
    const value = await this.redis.get(this.key(id));
    return value ? JSON.parse(value) as PortalSessionData : null;
  }

  async set(id: string, data: PortalSessionData, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(id), JSON.stringify(data), { expiration: { type: 'EX', value: Math.max(1, Math.ceil(ttlSeconds)) } });
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}

/** For the embedded demo (no Redis) and unit tests. */
export class MemoryPortalSessionStore implements PortalSessionStore {
  private readonly entries = new Map<string, { json: string; expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  async get(id: string): Promise<PortalSessionData | null> {
    const entry = this.entries.get(hashed(id));
    if (!entry) return null;
    if (this.clock.now() >= entry.expiresAt) {
      this.entries.delete(hashed(id));
      return null;
    }
    return JSON.parse(entry.json) as PortalSessionData;
  }

  async set(id: string, data: PortalSessionData, ttlSeconds: number): Promise<void> {
    this.entries.set(hashed(id), { json: JSON.stringify(data), expiresAt: this.clock.now() + Math.max(1, Math.ceil(ttlSeconds)) * 1000 });
  }

  async destroy(id: string): Promise<void> {
    this.entries.delete(hashed(id));
  }
}

/** The request's portal session: created lazily, written back when anything changed. */
export interface PortalSession {
  readonly data: PortalSessionData | null;
  readonly id: string | null;
  ensure(): PortalSessionData;
  /** New id and CSRF token, same data, old id destroyed: on login (no session fixation). */
  regenerate(): Promise<void>;
  destroy(): Promise<void>;
  touch(): void;
}

declare module 'koa' {
  interface DefaultState {
    portalSession: PortalSession;
  }
}

export const PORTAL_IDLE_SECONDS = 30 * 60;
export const PORTAL_ABSOLUTE_SECONDS = 8 * 3600;

const newId = () => randomBytes(32).toString('base64url');
const newCsrfToken = () => randomBytes(32).toString('base64url');

export interface PortalSessionOptions {
  store: PortalSessionStore;
  clock: Clock;
  /** PUBLIC_URL is https: the cookie is Secure and named `__Host-etax_portal`. */
  secure: boolean;
  idleSeconds?: number;
  absoluteSeconds?: number;
}

export const portalCookieName = (secure: boolean) => (secure ? '__Host-etax_portal' : 'etax_portal');

/**
 * The portal's own session, separate from the H5 one (another cookie, another Redis key space), as
 * a separately deployed portal would have: a 256-bit random id in an HttpOnly, SameSite=Lax cookie,
 * idle (30 min) and absolute (8 h) timeouts.
 */
export function portalSession(options: PortalSessionOptions): Middleware {
  const cookieName = portalCookieName(options.secure);
  const idle = options.idleSeconds ?? PORTAL_IDLE_SECONDS;
  const absolute = options.absoluteSeconds ?? PORTAL_ABSOLUTE_SECONDS;

  return async (ctx, next) => {
    // TLS usually ends at the load balancer: the cookie library must not refuse a Secure cookie
    // because this hop is plain HTTP when PUBLIC_URL says the public side is HTTPS.
    if (options.secure) (ctx.cookies as unknown as { secure: boolean }).secure = true;
    const now = options.clock.now();
    let id = ctx.cookies.get(cookieName) ?? null;
    let data: PortalSessionData | null = null;
    if (id && /^[A-Za-z0-9_-]{43}$/.test(id)) {
      data = await options.store.get(id);
      if (data && (now - data.lastSeenAt > idle * 1000 || now - data.createdAt > absolute * 1000)) {
        await options.store.destroy(id);
        data = null;
      }
    }
    if (!data) id = null;
    // Written back whenever the data changed, so handlers need not remember to say so.
    const loaded = data ? JSON.stringify(data) : null;
    let dirty = false;
    let destroyed = false;

    const setCookie = (value: string | null) => {
      ctx.cookies.set(cookieName, value, {
        httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/', overwrite: true,
        ...(value === null ? { expires: new Date(0) } : {}),
      });
    };

    const session: PortalSession = {
      get data() {
        return data;
      },
      get id() {
        return id;
      },
      ensure() {
        if (!data) {
          data = { csrfToken: newCsrfToken(), createdAt: now, lastSeenAt: now };
          id = newId();
          dirty = true;
          destroyed = false;
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
    };
    ctx.state.portalSession = session;
    await next();

    if (destroyed && !data) return;
    if (!data || !id) return;
    if (dirty || JSON.stringify(data) !== loaded || now - data.lastSeenAt > 60_000) {
      data.lastSeenAt = now;
      await options.store.set(id, data, Math.min(idle, absolute - (now - data.createdAt) / 1000));
    }
  };
}

/** The session of this request, created when there is none. */
export function sessionFor(ctx: Context): PortalSessionData {
  return ctx.state.portalSession.ensure();
}
