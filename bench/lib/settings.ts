import { randomBytes } from 'node:crypto';

/**
 * The one set of WeChat credentials every server of a bench run is configured with: the product
 * instances, the co-wechat baselines and the push driver all sign and encrypt with these. Random
 * values of the real formats, so the product starts in production mode (it refuses placeholder or
 * low-entropy secrets there); they guard nothing, everything listens on loopback only.
 */
export const WECHAT = {
  appId: 'wx0123456789abcdef',
  appSecret: '1533545515bf093313933104f73ce63c',
  token: 'ba5528462adb9f7e0ebbf45e738cf17f',
  encodingAesKey: '0Yq7TuxAfnCUynHG2nGyddUvhEoBzSajaAmVTNmJ6uo',
  /** The Official Account's original id, ToUserName of every push. */
  accountId: 'gh_0123456789ab',
} as const;

export const PORTAL_API_KEY = 'sBFPa6cHdzchzeg8cvfaDfcqr348i2JdNBDFUHDhSmk';
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

/** What results.json and results.md say about the product's configuration (productEnvironment). */
export const PRODUCT_CONFIGURATION =
  'NODE_ENV=production (every production rule of loadConfig applies), LOG_LEVEL as set, JSON logs serialised to /dev/null, ' +
  'PUBLIC_URL https (HSTS and the other https-only headers sent), served as plain HTTP on loopback (TLS ends at a proxy in a deployment; not measured), ' +
  'TRUST_PROXY=0 (no proxy in front), WeChat = the simulator in its own process, SMS and 实名核身 configured but not called.';

/**
 * The environment of a product instance: production mode (NODE_ENV=production, with every rule
 * loadConfig applies there), the simulator as WeChat. `redis` replaces the run's single Redis node
 * (REDIS_URL) with another topology's settings. What differs from a deployment, and why:
 * - plain HTTP on loopback with PUBLIC_URL https: TLS ends at the proxy in front of a deployment,
 *   which is not part of what is measured; the product sends the headers it sends behind https
 *   (HSTS, upgrade-insecure-requests, Secure cookies) because PUBLIC_URL is https;
 * - TRUST_PROXY=0: the bench's requests come straight from the load generator, with no proxy's
 *   X-Forwarded-For to read;
 * - WeChat, SMS and 实名核身 credentials are random values of the real formats: WeChat is the
 *   simulator (WECHAT_*_BASE), and no scenario sends an SMS or calls 实名核身.
 */
export function productEnvironment(
  run: BenchRun,
  simulatorBase: string,
  logLevel: string,
  redis: Record<string, string> = { REDIS_URL: run.redisUrl },
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    PORT: '0',
    PUBLIC_URL: 'https://etax-wechat.bench',
    TRUST_PROXY: '0',
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
    SESSION_SECRET: 'JeI06k4PGk38X8vmrl0ej/5uvJV2WkI+Lk1CKqKHfD4=',
    DATA_KEY: 'KR5/CHTGikeTXnZPoWgcLJkQEyZP+FBQA4YWxcAsFeY=',
    SMS_PROVIDER: 'tencentcloud',
    TENCENTCLOUD_SECRET_ID: 'AKIDbench0000000000000000000000000000',
    TENCENTCLOUD_SECRET_KEY: 'a621cf2ca5fd1663d3c3dcb6acb4a7ad691e0043',
    TENCENTCLOUD_SMS_REGION: 'ap-guangzhou',
    TENCENTCLOUD_SMS_SDK_APP_ID: '1400000000',
    TENCENTCLOUD_SMS_SIGN_NAME: '福建税务',
    TENCENTCLOUD_SMS_TEMPLATE_ID: '1000000',
    TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS: '1000001',
    IDENTITY_VERIFIER: 'tencentcloud',
    TENCENTCLOUD_FACEID_REGION: 'ap-guangzhou',
    SANDBOX: '0',
    PORTAL_DEMO: '0',
    // The scenarios create thousands of tickets a minute from one simulated browser.
    LOGIN_TICKETS_PER_IP_PER_MINUTE: '1000000',
    LOGIN_TICKETS_PER_KEY_PER_MINUTE: '1000000',
  };
}
