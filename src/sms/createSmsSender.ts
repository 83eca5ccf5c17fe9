import type { Clock } from '../clock/Clock';
import type { Config } from '../config/Config';
import type { Logger } from '../logging/createLogger';
import type { SmsOutbox } from '../sandbox/SmsOutbox';
import { ConsoleSmsSender } from './ConsoleSmsSender';
import type { SmsSender } from './SmsSender';
import { TencentCloudSmsSender } from './TencentCloudSmsSender';

/** The sender SMS_PROVIDER names; the sandbox outbox is filled by the console sender only. */
export function createSmsSender(
  config: Config,
  context: { logger: Logger; clock: Clock; outbox: SmsOutbox | null },
): SmsSender {
  switch (config.sms.provider) {
    case 'console':
      return new ConsoleSmsSender(context);
    case 'tencentcloud':
      if (!config.sms.tencentcloud) throw new Error('SMS_PROVIDER=tencentcloud needs the TENCENTCLOUD_* settings');
      return new TencentCloudSmsSender(config.sms.tencentcloud);
  }
}
