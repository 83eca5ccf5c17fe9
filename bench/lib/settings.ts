import { randomBytes } from 'node:crypto';

/**
 * The one set of WeChat credentials every server of a bench run is configured with: the product
 * instances, the co-wechat baselines and the push driver all sign and encrypt with these.
 */
export const WECHAT = {
  appId: 'wx0123456789abcdef',
  appSecret: 'benchsecret0123456789benchsecret',
  token: 'benchtoken',
  encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  /** The Official Account's original id, ToUserName of every push. */
  accountId: 'gh_0123456789ab',
} as const;

export const PORTAL_API_KEY = 'bench-portal-key-000000000000000000000000';
export const PORTAL_ORIGIN = 'http://portal.bench';
/** What a portal reports for the PC browser (a typical desktop Chrome, so tickets have realistic size). */
export const PC_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
export const PC_IP = '203.0.113.45';

/** Only loopback: nothing in a bench run listens on or talks to another address. */
export const HOST = '127.0.0.1';

/** This run's private corner of MariaDB and Redis (the same scheme as test/support/testEnv.ts). */
export function benchRun() {
  const id = `${process.pid.toString(36)}${randomBytes(4).toString('hex')}`;
  const serverUrl = new URL(
    process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/',
  );
  const auth = serverUrl.username ? `${serverUrl.username}${serverUrl.password ? `:${serverUrl.password}` : ''}@` : '';
  const server = `${serverUrl.protocol}//${auth}${serverUrl.host}/`;
  const databaseName = `etax_bench_${id}`;
  return {
    id,
    serverUrl: server,
    databaseName,
    databaseUrl: `${server}${databaseName}`,
    redisUrl: process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: `etax-bench:${id}:`,
  };
}
export type BenchRun = ReturnType<typeof benchRun>;

/**
 * The environment of a product instance: production-like settings, the simulator as WeChat. `redis`
 * replaces the run's single Redis node (REDIS_URL) with another topology's settings.
 */
export function productEnvironment(
  run: BenchRun,
  simulatorBase: string,
  logLevel: string,
  redis: Record<string, string> = { REDIS_URL: run.redisUrl },
): Record<string, string> {
  return {
    NODE_ENV: 'development',
    PORT: '0',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    LOG_LEVEL: logLevel,
    WECHAT_APPID: WECHAT.appId,
    WECHAT_APPSECRET: WECHAT.appSecret,
    WECHAT_TOKEN: WECHAT.token,
    WECHAT_ENCODING_AES_KEY: WECHAT.encodingAesKey,
    WECHAT_API_BASE: simulatorBase,
    WECHAT_OPEN_BASE: simulatorBase,
    WECHAT_MP_BASE: simulatorBase,
    DATABASE_URL: run.databaseUrl,
    ...redis,
    REDIS_KEY_PREFIX: run.redisPrefix,
    PORTAL_API_KEYS: PORTAL_API_KEY,
    PORTAL_ORIGINS: PORTAL_ORIGIN,
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    DATA_KEY: Buffer.alloc(32, 9).toString('base64'),
    SANDBOX: '0',
    PORTAL_DEMO: '0',
    // The scenarios create thousands of tickets a minute from one simulated browser.
    LOGIN_TICKETS_PER_IP_PER_MINUTE: '1000000',
    LOGIN_TICKETS_PER_KEY_PER_MINUTE: '1000000',
  };
}
