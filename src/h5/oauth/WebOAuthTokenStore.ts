import type OAuth from 'wechat-oauth';

export type WebOAuthToken = OAuth.OAuthTokenData;

/** wechat-oauth's web access tokens by openid, each kept for ttlSeconds (its lifetime). */
export interface WebOAuthTokenStore {
  get(openid: string): Promise<WebOAuthToken | null>;
  set(openid: string, token: WebOAuthToken, ttlSeconds: number): Promise<void>;
}
