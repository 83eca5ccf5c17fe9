import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock/Clock';
import { loadConfig } from '../../src/config/loadConfig';
import { createLogger } from '../../src/logging/createLogger';
import { ConsoleSmsSender } from '../../src/sms/ConsoleSmsSender';
import { createSmsSender } from '../../src/sms/createSmsSender';
import { TencentCloudSmsSender } from '../../src/sms/TencentCloudSmsSender';
import { testEnvironment } from '../support/testEnv';

describe('sms/createSmsSender', () => {
  const context = { logger: createLogger('silent'), clock: new ManualClock(), outbox: null };

  it('builds the console sender for SMS_PROVIDER=console', () => {
    assert.ok(
      createSmsSender(loadConfig(testEnvironment({ SMS_PROVIDER: 'console' })), context) instanceof ConsoleSmsSender,
    );
  });

  it('builds the Tencent Cloud sender for SMS_PROVIDER=tencentcloud', () => {
    const config = loadConfig(
      testEnvironment({
        SMS_PROVIDER: 'tencentcloud',
        TENCENTCLOUD_SECRET_ID: 'AKIDtest',
        TENCENTCLOUD_SECRET_KEY: 'key',
        TENCENTCLOUD_SMS_SDK_APP_ID: '1400000001',
        TENCENTCLOUD_SMS_SIGN_NAME: '福建税务',
        TENCENTCLOUD_SMS_TEMPLATE_ID: '2000002',
        TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS: '2000003',
      }),
    );
    assert.ok(createSmsSender(config, context) instanceof TencentCloudSmsSender);
  });
});
