import type { Clock } from '../../clock/Clock';
import { shanghaiDate } from '../../clock/shanghaiTime';
import { randomUrlSafe } from './randomStrings';
import { commonErrors } from './WeChatApiError';

const LIFETIME_MS = 7200_000;
/** How long a replaced token keeps working, and the stable token's rotation window (both 5 min). */
const OVERLAP_MS = 300_000;
const FORCED_REFRESHES_PER_DAY = 20;
const FORCED_REFRESH_SPACING_MS = 30_000;
/** Tokens remembered (the newest): enough to tell every recent one's fate, bounded however many are asked for. */
export const MAX_ISSUED_TOKENS = 1000;

/** /cgi-bin/token and /cgi-bin/stable_token hand out tokens from separate spaces. */
export type TokenSpace = 'token' | 'stable_token';

interface IssuedToken {
  value: string;
  space: TokenSpace;
  expiresAt: number;
  /** When it stops working for a reason other than age: replaced, forced out or invalidated. */
  revokedAt: number | null;
}

export interface TokenGrant {
  accessToken: string;
  /** Seconds left, as WeChat reports them in `expires_in`. */
  expiresIn: number;
}

/** The access tokens of one account, with the lifetimes and replacement rules WeChat documents. */
export class AccessTokens {
  private readonly issued = new Map<string, IssuedToken>();
  private latestToken: IssuedToken | null = null;
  private currentStable: IssuedToken | null = null;
  private forcedRefreshTimes: number[] = [];

  constructor(private readonly clock: Clock) {}

  /** /cgi-bin/token: always a new token; the one it replaces works for 5 more minutes. */
  issueToken(): TokenGrant {
    const now = this.clock.now();
    if (this.latestToken) revoke(this.latestToken, now + OVERLAP_MS);
    this.latestToken = this.mint('token', now);
    return { accessToken: this.latestToken.value, expiresIn: LIFETIME_MS / 1000 };
  }

  /**
   * /cgi-bin/stable_token: the same token while it has more than 5 minutes left, a new one (the old
   * one living out its time) after that. A forced refresh kills the current token at once, but only
   * 20 times a (Beijing) day and 30 s apart; a refused force is served like a normal call.
   */
  stableToken(forceRefresh: boolean): TokenGrant {
    const now = this.clock.now();
    const current = this.currentStable;
    if (forceRefresh && this.mayForceRefresh(now)) {
      this.forcedRefreshTimes.push(now);
      if (current) revoke(current, now);
      return this.rotateStable(now);
    }
    if (current && failureAt(current, now) === null && current.expiresAt - now > OVERLAP_MS) {
      return { accessToken: current.value, expiresIn: Math.floor((current.expiresAt - now) / 1000) };
    }
    return this.rotateStable(now);
  }

  /** Throws the error WeChat gives for this `access_token` query value, if any. */
  verify(value: string | undefined): TokenSpace {
    if (value === undefined || value === '') throw commonErrors.accessTokenMissing();
    const token = this.issued.get(value);
    if (!token) throw commonErrors.accessTokenUnknown();
    const failure = failureAt(token, this.clock.now());
    if (failure === 'revoked') throw commonErrors.accessTokenNotLatest();
    if (failure === 'expired') throw commonErrors.accessTokenExpired();
    return token.space;
  }

  /** Every token issued so far reaches its expiry now (→ 42001 unless it was already revoked). */
  expireAll(): void {
    const now = this.clock.now();
    for (const token of this.issued.values()) token.expiresAt = Math.min(token.expiresAt, now);
  }

  /** Every token issued so far is revoked now (→ 40001 unless it had already expired). */
  invalidateAll(): void {
    const now = this.clock.now();
    for (const token of this.issued.values()) revoke(token, now);
  }

  clear(): void {
    this.issued.clear();
    this.latestToken = null;
    this.currentStable = null;
    this.forcedRefreshTimes = [];
  }

  private mayForceRefresh(now: number): boolean {
    // WeChat's quotas restart at midnight Beijing time.
    const today = shanghaiDate(now);
    const todays = this.forcedRefreshTimes.filter((at) => shanghaiDate(at) === today);
    const last = this.forcedRefreshTimes[this.forcedRefreshTimes.length - 1];
    return todays.length < FORCED_REFRESHES_PER_DAY && (last === undefined || now - last >= FORCED_REFRESH_SPACING_MS);
  }

  private rotateStable(now: number): TokenGrant {
    this.currentStable = this.mint('stable_token', now);
    return { accessToken: this.currentStable.value, expiresIn: LIFETIME_MS / 1000 };
  }

  private mint(space: TokenSpace, now: number): IssuedToken {
    // Real tokens are ~136 chars of [A-Za-z0-9_-]; clients must not assume a shorter length.
    const token: IssuedToken = { value: randomUrlSafe(136), space, expiresAt: now + LIFETIME_MS, revokedAt: null };
    this.issued.set(token.value, token);
    for (const oldest of this.issued.keys()) {
      if (this.issued.size <= MAX_ISSUED_TOKENS) break;
      this.issued.delete(oldest);
    }
    return token;
  }
}

function revoke(token: IssuedToken, at: number): void {
  token.revokedAt = Math.min(token.revokedAt ?? Number.POSITIVE_INFINITY, at);
}

/** Why the token no longer works at `now` — whichever of revocation and expiry came first. */
function failureAt(token: IssuedToken, now: number): 'revoked' | 'expired' | null {
  const revokedAt = token.revokedAt ?? Number.POSITIVE_INFINITY;
  if (now < revokedAt && now < token.expiresAt) return null;
  return revokedAt < token.expiresAt ? 'revoked' : 'expired';
}
