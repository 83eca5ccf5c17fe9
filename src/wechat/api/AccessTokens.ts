import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../../clock/Clock';
import type { Logger } from '../../logging/createLogger';
import type { AccessTokenStore, StoredAccessToken } from './AccessTokenStore';
import { WeChatUnavailableError } from './WeChatApiError';
import type { WeChatHttp } from './WeChatHttp';

export interface AccessTokensOptions {
  http: WeChatHttp;
  apiBase: string;
  appId: string;
  appSecret: string;
  store: AccessTokenStore;
  clock: Clock;
  logger: Logger;
  /** How long a caller waits for another instance's fetch before giving up. */
  waitMs?: number;
}

const LOCK_MS = 10_000;
const POLL_MS = 20;
// stable_token hands out a new token only in the last 5 minutes of the old one's life.
const ROTATION_WINDOW_S = 300;

/**
 * The shared access token from `stable_token`: one fetch at a time across all instances (a Redis
 * lock, and one in-flight fetch per process), refreshed before it expires, and refreshed once by
 * force when WeChat calls the token we used stale.
 */
export class AccessTokens {
  /** One refresh in flight per process for each stale token ('' = a routine refresh). */
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly options: AccessTokensOptions) {}

  async get(): Promise<string> {
    const stored = await this.options.store.get();
    if (stored && this.options.clock.now() < stored.refreshAt) return stored.token;
    return this.singleFlight(null);
  }

  /** Called after WeChat answered 40001/40014/42001 for `staleToken`; returns a different token if one can be had. */
  refreshAfterRejection(staleToken: string): Promise<string> {
    return this.singleFlight(staleToken);
  }

  private singleFlight(staleToken: string | null): Promise<string> {
    const key = staleToken ?? '';
    let flight = this.inflight.get(key);
    if (!flight) {
      flight = this.refresh(staleToken).finally(() => this.inflight.delete(key));
      this.inflight.set(key, flight);
    }
    return flight;
  }

  /** The stored token if the caller may use it: fresh, or at least not the one WeChat just refused. */
  private usable(stored: StoredAccessToken | null, staleToken: string | null): string | null {
    if (!stored) return null;
    const now = this.options.clock.now();
    const ok = staleToken !== null ? stored.token !== staleToken && now < stored.expiresAt : now < stored.refreshAt;
    return ok ? stored.token : null;
  }

  private async refresh(staleToken: string | null): Promise<string> {
    const { store } = this.options;
    const giveUpAt = Date.now() + (this.options.waitMs ?? 5000);
    for (;;) {
      const current = this.usable(await store.get(), staleToken);
      if (current) return current;
      const owner = await store.lock(LOCK_MS);
      if (owner) {
        try {
          const again = await store.get();
          const fetchedMeanwhile = this.usable(again, staleToken);
          if (fetchedMeanwhile) return fetchedMeanwhile;
          // Without a forced refresh left, a normal fetch still helps when the token was revoked
          // elsewhere (stable_token then hands out the current one); at worst the retry fails once.
          const force =
            staleToken !== null &&
            again?.token === staleToken &&
            (await store.takeForcedRefresh(this.options.clock.now()));
          return await this.fetch(force);
        } finally {
          await store.unlock(owner).catch(() => undefined);
        }
      }
      if (Date.now() > giveUpAt)
        throw new WeChatUnavailableError('stable_token', 'another instance is still fetching the access token');
      await delay(POLL_MS);
    }
  }

  private async fetch(force: boolean): Promise<string> {
    const { http, apiBase, appId, appSecret, store, clock, logger } = this.options;
    const answer = await http.post<{ access_token: string; expires_in: number }>(
      'stable_token',
      `${apiBase}/cgi-bin/stable_token`,
      {
        grant_type: 'client_credential',
        appid: appId,
        secret: appSecret,
        force_refresh: force,
      },
    );
    if (
      typeof answer.access_token !== 'string' ||
      answer.access_token === '' ||
      typeof answer.expires_in !== 'number' ||
      !(answer.expires_in > 0)
    ) {
      throw new WeChatUnavailableError('stable_token', 'malformed answer');
    }
    const now = clock.now();
    const lifetimeS = answer.expires_in;
    const token: StoredAccessToken = {
      token: answer.access_token,
      expiresAt: now + lifetimeS * 1000,
      refreshAt: now + Math.max(lifetimeS - ROTATION_WINDOW_S, lifetimeS / 2) * 1000,
    };
    await store.set(token, lifetimeS * 1000);
    logger.info({ force, expiresIn: lifetimeS }, 'fetched a WeChat access token');
    return token.token;
  }
}
