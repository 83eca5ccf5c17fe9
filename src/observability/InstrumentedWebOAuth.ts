import { WebOAuth, WebOAuthError, type WebIdentity, type WebOAuthOptions } from '../h5/oauth/WebOAuth';
import type { Metrics } from './Metrics';

/** WeChat's name for the call behind `exchange` (the code-for-token exchange of 网页授权). */
export const OAUTH_API = 'sns/oauth2/access_token';

/**
 * WebOAuth whose code exchanges (made through wechat-oauth, not WeChatHttp) are counted like every
 * other WeChat API call: ok, errcode, or a transport failure (timeout / network).
 */
export class InstrumentedWebOAuth extends WebOAuth {
  constructor(
    options: WebOAuthOptions,
    private readonly metrics: Metrics,
  ) {
    super(options);
  }

  override async exchange(code: string): Promise<WebIdentity> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const identity = await super.exchange(code);
      this.metrics.wechatCallSucceeded(OAUTH_API, seconds());
      return identity;
    } catch (error) {
      if (error instanceof WebOAuthError) {
        if (typeof error.errcode === 'number') this.metrics.wechatErrcode(OAUTH_API, error.errcode, seconds());
        else
          this.metrics.wechatTransportFailure(
            OAUTH_API,
            /time(d )?out/i.test(error.message) ? 'timeout' : 'network',
            seconds(),
          );
      }
      throw error;
    }
  }
}
