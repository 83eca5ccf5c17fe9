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
