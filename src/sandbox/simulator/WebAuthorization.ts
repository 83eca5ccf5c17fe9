import type { Clock } from '../../clock/Clock';
import { ExpiringMap } from '../../store/ExpiringMap';
import { randomAlphanumeric, randomUrlSafe } from './randomStrings';
import { WeChatApiError, commonErrors } from './WeChatApiError';

export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo';

export function isOAuthScope(value: unknown): value is OAuthScope {
  return value === 'snsapi_base' || value === 'snsapi_userinfo';
}

const CODE_LIFETIME_MS = 5 * 60_000;
const ACCESS_TOKEN_LIFETIME_MS = 7200_000;
/** 公众号 web-auth refresh tokens last 30 days (the 180 days of the App doc is another product). */
const REFRESH_TOKEN_LIFETIME_MS = 30 * 86_400_000;
/** Past its expiry an entry is kept this long more, to answer "expired" rather than "invalid". */
const KEPT_AFTER_EXPIRY_MS = 86_400_000;
/** Of each kind (codes, access tokens, refresh tokens), the newest kept: a sandbox serves a few people. */
export const MAX_WEB_AUTHORIZATIONS = 10_000;

interface AuthorizationCode {
  openid: string;
  appId: string;
  scope: OAuthScope;
  expiresAt: number;
  used: boolean;
}

/** A web-auth access token: a different thing from the account's /cgi-bin access token. */
export interface WebAccessToken {
  openid: string;
  scope: OAuthScope;
  expiresAt: number;
}

interface RefreshToken {
  openid: string;
  scope: OAuthScope;
  expiresAt: number;
}

/** What /sns/oauth2/access_token and /sns/oauth2/refresh_token answer, minus unionid. */
export interface WebTokenGrant {
  access_token: string;
  expires_in: number;
  refresh_token: string;
  openid: string;
  scope: OAuthScope;
}

/**
 * The web OAuth (网页授权) state of one account: codes, web access tokens, refresh tokens. Each
 * is dropped a day after it expires, and at most MAX_WEB_AUTHORIZATIONS of each are kept (the oldest go
 * first), so however many authorizations are asked for, the memory they take is bounded.
 */
export class WebAuthorization {
  private readonly codes: ExpiringMap<AuthorizationCode>;
  private readonly accessTokens: ExpiringMap<WebAccessToken>;
  private readonly refreshTokens: ExpiringMap<RefreshToken>;

  constructor(private readonly clock: Clock) {
    this.codes = new ExpiringMap(clock, MAX_WEB_AUTHORIZATIONS);
    this.accessTokens = new ExpiringMap(clock, MAX_WEB_AUTHORIZATIONS);
    this.refreshTokens = new ExpiringMap(clock, MAX_WEB_AUTHORIZATIONS);
  }

  issueCode(openid: string, appId: string, scope: OAuthScope): string {
    const code = randomAlphanumeric(32);
    this.codes.set(
      code,
      { openid, appId, scope, expiresAt: this.clock.now() + CODE_LIFETIME_MS, used: false },
      CODE_LIFETIME_MS + KEPT_AFTER_EXPIRY_MS,
    );
    return code;
  }

  /** Codes, access tokens and refresh tokens held now. */
  get held(): { codes: number; accessTokens: number; refreshTokens: number } {
    return { codes: this.codes.size, accessTokens: this.accessTokens.size, refreshTokens: this.refreshTokens.size };
  }

  /** Codes are single use (40163 afterwards) and die unused after 5 minutes (40029). */
  exchangeCode(code: string | undefined, appId: string): WebTokenGrant {
    if (code === undefined || code === '') throw new WeChatApiError(41008, 'missing code');
    const issued = this.codes.get(code);
    if (!issued || issued.appId !== appId) throw invalidCode();
    if (issued.used) throw new WeChatApiError(40163, 'code been used');
    if (this.clock.now() >= issued.expiresAt) throw invalidCode();
    issued.used = true;
    const refreshToken = randomUrlSafe(110);
    this.refreshTokens.set(
      refreshToken,
      { openid: issued.openid, scope: issued.scope, expiresAt: this.clock.now() + REFRESH_TOKEN_LIFETIME_MS },
      REFRESH_TOKEN_LIFETIME_MS + KEPT_AFTER_EXPIRY_MS,
    );
    return this.grant(issued.openid, issued.scope, refreshToken);
  }

  /** A fresh access token for the same user and scope; the refresh token itself stays the same. */
  refresh(refreshToken: string | undefined): WebTokenGrant {
    const stored = refreshToken === undefined ? undefined : this.refreshTokens.get(refreshToken);
    if (refreshToken === undefined || !stored) throw new WeChatApiError(40030, 'invalid refresh_token');
    if (this.clock.now() >= stored.expiresAt) throw new WeChatApiError(42002, 'refresh_token expired');
    return this.grant(stored.openid, stored.scope, refreshToken);
  }

  verifyAccessToken(value: string | undefined): WebAccessToken {
    if (value === undefined || value === '') throw commonErrors.accessTokenMissing();
    const token = this.accessTokens.get(value);
    if (!token) throw commonErrors.accessTokenNotLatest();
    if (this.clock.now() >= token.expiresAt) throw commonErrors.accessTokenExpired();
    return token;
  }

  clear(): void {
    this.codes.clear();
    this.accessTokens.clear();
    this.refreshTokens.clear();
  }

  private grant(openid: string, scope: OAuthScope, refreshToken: string): WebTokenGrant {
    const accessToken = randomUrlSafe(110);
    this.accessTokens.set(
      accessToken,
      { openid, scope, expiresAt: this.clock.now() + ACCESS_TOKEN_LIFETIME_MS },
      ACCESS_TOKEN_LIFETIME_MS + KEPT_AFTER_EXPIRY_MS,
    );
    return {
      access_token: accessToken,
      expires_in: ACCESS_TOKEN_LIFETIME_MS / 1000,
      refresh_token: refreshToken,
      openid,
      scope,
    };
  }
}

function invalidCode(): WeChatApiError {
  return new WeChatApiError(40029, 'invalid code');
}
