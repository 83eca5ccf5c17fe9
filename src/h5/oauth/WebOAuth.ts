import { promisify } from 'node:util';
import { ConfigurableHostOAuth } from './ConfigurableHostOAuth';
import type { WebOAuthToken, WebOAuthTokenStore } from './WebOAuthTokenStore';

export interface WebOAuthOptions {
  appId: string;
  appSecret: string;
  apiBase: string;
  openBase: string;
  timeoutMs: number;
  /** Where wechat-oauth keeps the web tokens it obtains. */
  tokens: WebOAuthTokenStore;
}

export interface WebIdentity {
  openid: string;
  unionid?: string;
  /** WeChat's 快照页 virtual user: never to be bound to a real account. */
  snapshotUser: boolean;
}

/** An OAuth failure with WeChat's errcode, or `unavailable` when WeChat could not be reached. */
export class WebOAuthError extends Error {
  constructor(
    readonly errcode: number | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'WebOAuthError';
  }
}

/** Web OAuth (网页授权) through wechat-oauth, its tokens kept in the token store for their lifetime. */
export class WebOAuth {
  private readonly client: ConfigurableHostOAuth;

  constructor(private readonly options: WebOAuthOptions) {
    const { tokens } = options;
    // wechat-oauth speaks callbacks; the store speaks promises.
    this.client = new ConfigurableHostOAuth(
      options.appId,
      options.appSecret,
      options.apiBase,
      options.openBase,
      options.timeoutMs,
      (openid, callback) => {
        tokens.get(openid).then(
          (token) => callback(null, token),
          (error: Error) => callback(error),
        );
      },
      (openid, token, callback) => {
        // At least a minute, and two hours (WeChat's usual lifetime) when the answer names none.
        tokens.set(openid, token, Math.max(60, token.expires_in || 7200)).then(
          () => callback(null),
          (error: Error) => callback(error),
        );
      },
    );
  }

  /** The silent snsapi_base authorization that tells us the user's openid. */
  authorizeUrl(redirectUri: string, state: string): string {
    return this.client.getAuthorizeURL(redirectUri, state, 'snsapi_base');
  }

  async exchange(code: string): Promise<WebIdentity> {
    let result: { data: WebOAuthToken } | undefined;
    try {
      result = await promisify(this.client.getAccessToken.bind(this.client))(code);
    } catch (error) {
      const e = error as Error & { code?: unknown };
      if (e.name === 'WeChatAPIError' && typeof e.code === 'number') throw new WebOAuthError(e.code, e.message);
      throw new WebOAuthError('unavailable', e.message);
    }
    const data = result?.data;
    if (!data || typeof data.openid !== 'string' || data.openid === '')
      throw new WebOAuthError('unavailable', 'no openid in the answer');
    return {
      openid: data.openid,
      ...(data.unionid ? { unionid: data.unionid } : {}),
      snapshotUser: data.is_snapshotuser === 1,
    };
  }
}
