import OAuth from 'wechat-oauth';

const API_HOST = 'https://api.weixin.qq.com';
const OPEN_HOST = 'https://open.weixin.qq.com';

/**
 * wechat-oauth hard-codes api.weixin.qq.com and open.weixin.qq.com; deployments need configurable
 * hosts (forward proxies in government networks, WeChat's backup domains, the simulator), so this
 * subclass rewrites the two hosts and bounds every call with a timeout.
 */
export class ConfigurableHostOAuth extends OAuth {
  constructor(
    appId: string,
    appSecret: string,
    private readonly apiBase: string,
    private readonly openBase: string,
    timeoutMs: number,
    tokens: ConstructorParameters<typeof OAuth>[2],
    saveToken: ConstructorParameters<typeof OAuth>[3],
  ) {
    super(appId, appSecret, tokens, saveToken);
    this.setOpts({ timeout: timeoutMs });
  }

  override request(url: string, options: Record<string, unknown>, callback: (...args: unknown[]) => void): void {
    super.request(url.startsWith(API_HOST) ? this.apiBase + url.slice(API_HOST.length) : url, options, callback);
  }

  override getAuthorizeURL(redirect: string, state: string, scope: 'snsapi_base' | 'snsapi_userinfo'): string {
    const url = super.getAuthorizeURL(redirect, state, scope);
    return url.startsWith(OPEN_HOST) ? this.openBase + url.slice(OPEN_HOST.length) : url;
  }
}
