import { randomBytes } from 'node:crypto';

/**
 * Where the tests find MariaDB and Redis, and this run's private corner of them: a database and a
 * Redis key prefix of its own, so concurrent runs cannot disturb each other.
 */
const runId = `${process.pid.toString(36)}${randomBytes(4).toString('hex')}`;
const serverUrl = new URL(process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/');

export const testRun = {
  id: runId,
  serverUrl: `${serverUrl.protocol}//${serverUrl.username}${serverUrl.password ? `:${serverUrl.password}` : ''}${serverUrl.username ? '@' : ''}${serverUrl.host}/`,
  databaseName: `etax_test_${runId}`,
  get databaseUrl(): string {
    return `${this.serverUrl}${this.databaseName}`;
  },
  redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  redisPrefix: `etax-test:${runId}:`,
};

/** A complete, valid environment for the service under test; tests override what they exercise. */
export function testEnvironment(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    PORT: '0',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    LOG_LEVEL: 'silent',
    WECHAT_APPID: 'wx0123456789abcdef',
    WECHAT_APPSECRET: 'secret0123456789secret0123456789',
    WECHAT_TOKEN: 'testtoken',
    WECHAT_ENCODING_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    DATABASE_URL: testRun.databaseUrl,
    REDIS_URL: testRun.redisUrl,
    REDIS_KEY_PREFIX: testRun.redisPrefix,
    PORTAL_API_KEYS: 'test-portal-key-0000000000000000000000',
    PORTAL_ORIGINS: 'http://portal.test',
    SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    DATA_KEY: Buffer.alloc(32, 7).toString('base64'),
    SANDBOX: '1',
    ...overrides,
  };
}

/**
 * A complete environment production accepts: https, the real SMS and identity services (never
 * called by config tests), no sandbox, and secrets as random as production demands.
 */
export function productionEnvironment(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const random = (bytes: number) => randomBytes(bytes).toString('base64url');
  return testEnvironment({
    NODE_ENV: 'production',
    SANDBOX: '0',
    PUBLIC_URL: 'https://wx.example.test',
    WECHAT_APPSECRET: randomBytes(16).toString('hex'),
    WECHAT_TOKEN: randomBytes(16).toString('hex'),
    WECHAT_ENCODING_AES_KEY: randomBytes(40)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, 43)
      .padEnd(43, 'Q'),
    PORTAL_API_KEYS: random(32),
    SESSION_SECRET: random(32),
    DATA_KEY: randomBytes(32).toString('base64'),
    SMS_PROVIDER: 'tencentcloud',
    TENCENTCLOUD_SECRET_ID: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA',
    TENCENTCLOUD_SECRET_KEY: random(24),
    TENCENTCLOUD_SMS_SDK_APP_ID: '1400000000',
    TENCENTCLOUD_SMS_SIGN_NAME: 'sign',
    TENCENTCLOUD_SMS_TEMPLATE_ID: '123456',
    TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS: '123457',
    IDENTITY_VERIFIER: 'tencentcloud',
    ...overrides,
  });
}
