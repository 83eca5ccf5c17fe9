import Ajv from 'ajv';
import type { Config } from './Config';
import { envSchema, FORMAT_HINTS, type Env } from './envSchema';

/** Every problem found in the environment, listed at once; never carries a configured value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true });
const validateEnv = ajv.compile(envSchema);

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const trimSlash = (url: string): string => url.replace(/\/+$/, '');

export function loadConfig(source: NodeJS.ProcessEnv): Config {
  // Treat empty variables as unset, as a .env file with `KEY=` intends.
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && value !== '') env[key] = value;
  }
  const problems: string[] = [];
  // ajv would coerce " ", "0x1F" or "1e3" into numbers; a setting must be written as plain digits.
  for (const [name, rule] of Object.entries(envSchema.properties) as [string, { type?: string }][]) {
    if (rule.type === 'integer' && env[name] !== undefined && !/^\d+$/.test(env[name])) {
      problems.push(`${name} must be a whole number`);
      delete env[name];
    }
  }
  if (!validateEnv(env)) {
    for (const error of validateEnv.errors ?? []) {
      if (error.keyword === 'if') continue;
      const name = error.instancePath.replace(/^\//, '');
      const missing = (error.params as { missingProperty?: string }).missingProperty;
      if (missing) {
        problems.push(
          error.keyword === 'dependencies'
            ? `${missing} is required when ${(error.params as { property: string }).property} is set`
            : `${missing} is required`,
        );
      } else {
        const hint = error.keyword === 'pattern' ? FORMAT_HINTS[name as keyof Env] : undefined;
        problems.push(`${name} ${hint ?? error.message ?? 'is invalid'}`);
      }
    }
  }
  const e = env as unknown as Env;
  if (e.SANDBOX === '1' && e.NODE_ENV === 'production') {
    problems.push('SANDBOX=1 is refused when NODE_ENV=production (the sandbox exposes test aids)');
  }
  if (e.SMS_PROVIDER === 'console' && e.NODE_ENV === 'production') {
    problems.push('SMS_PROVIDER=console sends no SMS; use tencentcloud when NODE_ENV=production');
  }
  if (e.NODE_ENV === 'production' && e.PUBLIC_URL && !e.PUBLIC_URL.startsWith('https://')) {
    problems.push('PUBLIC_URL must use https when NODE_ENV=production (session cookies are Secure)');
  }
  if (e.OIDC_CLIENTS_FILE && !e.OIDC_JWKS_FILE && e.NODE_ENV === 'production') {
    problems.push(
      'OIDC_JWKS_FILE is required with OIDC_CLIENTS_FILE when NODE_ENV=production (a generated key dies with the process)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const tencent =
    e.SMS_PROVIDER === 'tencentcloud'
      ? {
          secretId: e.TENCENTCLOUD_SECRET_ID!,
          secretKey: e.TENCENTCLOUD_SECRET_KEY!,
          region: e.TENCENTCLOUD_SMS_REGION ?? 'ap-guangzhou',
          sdkAppId: e.TENCENTCLOUD_SMS_SDK_APP_ID!,
          signName: e.TENCENTCLOUD_SMS_SIGN_NAME!,
          templateId: e.TENCENTCLOUD_SMS_TEMPLATE_ID!,
        }
      : undefined;

  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    publicUrl: trimSlash(e.PUBLIC_URL),
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY === '1',
    metricsToken: e.METRICS_TOKEN ?? null,
    wechat: {
      appId: e.WECHAT_APPID,
      appSecret: e.WECHAT_APPSECRET,
      token: e.WECHAT_TOKEN,
      encodingAesKeys: [e.WECHAT_ENCODING_AES_KEY, e.WECHAT_ENCODING_AES_KEY_PREVIOUS].filter(
        (k): k is string => typeof k === 'string',
      ),
      apiBase: trimSlash(e.WECHAT_API_BASE),
      openBase: trimSlash(e.WECHAT_OPEN_BASE),
      mpBase: trimSlash(e.WECHAT_MP_BASE),
      maxSkewSeconds: e.WECHAT_MAX_SKEW_SECONDS,
      apiTimeoutMs: e.WECHAT_API_TIMEOUT_MS,
    },
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    portal: { apiKeys: list(e.PORTAL_API_KEYS), origins: list(e.PORTAL_ORIGINS), demo: e.PORTAL_DEMO === '1' },
    sessionSecret: e.SESSION_SECRET,
    dataKey: Buffer.from(e.DATA_KEY, 'base64'),
    loginTicketTtlSeconds: e.LOGIN_TICKET_TTL_SECONDS,
    maxBindingsPerAccount: e.MAX_BINDINGS_PER_ACCOUNT,
    sms: tencent ? { provider: 'tencentcloud', tencentcloud: tencent } : { provider: 'console' },
    sandbox: e.SANDBOX === '1',
    oidc: e.OIDC_CLIENTS_FILE ? { clientsFile: e.OIDC_CLIENTS_FILE, jwksFile: e.OIDC_JWKS_FILE ?? null } : null,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}
