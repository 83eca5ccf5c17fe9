// wechat-oauth ships no types; this covers the part of its API the service uses.
declare module 'wechat-oauth' {
  type Callback<T> = (error: (Error & { code?: number; name: string }) | null, result?: T) => void;

  namespace OAuth {
    interface OAuthTokenData {
      access_token: string;
      expires_in: number;
      refresh_token: string;
      openid: string;
      scope: string;
      unionid?: string;
      is_snapshotuser?: number;
      create_at?: number;
    }
  }

  class OAuth {
    constructor(
      appid: string,
      appsecret: string,
      getToken?: (openid: string, callback: Callback<OAuth.OAuthTokenData | null>) => void,
      saveToken?: (openid: string, token: OAuth.OAuthTokenData, callback: (error: Error | null) => void) => void,
    );
    setOpts(options: Record<string, unknown>): void;
    request(url: string, options: Record<string, unknown>, callback: (...args: unknown[]) => void): void;
    getAuthorizeURL(redirect: string, state: string, scope: 'snsapi_base' | 'snsapi_userinfo'): string;
    getAccessToken(code: string, callback: Callback<{ data: OAuth.OAuthTokenData }>): void;
  }

  export = OAuth;
}
