import type { Logger } from '../logging/createLogger';
import type { WeChatApiClient } from './api/WeChatApiClient';

/**
 * Sends a 客服消息 without waiting for it: the change it reports has already been committed and
 * stands whether or not WeChat takes the message, so a failure is only logged.
 */
export function sendCustomerNotice(
  deps: { wechatApi: WeChatApiClient; logger: Logger },
  openid: string,
  content: string,
  what: string,
): void {
  deps.wechatApi
    .sendCustomText(openid, content)
    .catch((error: unknown) => deps.logger.warn({ err: error }, `${what} notice not sent`));
}
