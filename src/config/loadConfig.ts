import { isIP } from 'node:net';
import Ajv from 'ajv';
import type { Config, LoginNoticeFact, RedisTopology } from './Config';
import { envSchema, FORMAT_HINTS, type Env } from './envSchema';
import { parsePortalKeys } from './portalKeysSetting';
import { weakSecretReason } from './weakSecrets';
import { UNNAMED_PORTAL, type PortalKey } from '../security/PortalKey';

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
  for (const [name, rule] of Object.entries(envSchema.properties as Record<string, { type?: string }>)) {
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
  if (typeof e.HOST === 'string' && isIP(e.HOST) === 0 && !problems.some((p) => p.startsWith('HOST '))) {
    problems.push(`HOST ${FORMAT_HINTS.HOST!}`);
  }
  const portalKeys = portalKeysOf(e, problems);
  problems.push(...portalKeys.problems);
  if (e.NODE_ENV === 'production') problems.push(...productionSecretProblems(e, problems, portalKeys.keys));
  if (e.PORTAL_DEMO === '1' && e.NODE_ENV === 'production') {
    problems.push('PORTAL_DEMO=1 is refused when NODE_ENV=production (the reference portal is a demo)');
  }
  if (e.SANDBOX === '1' && e.NODE_ENV === 'production') {
    problems.push('SANDBOX=1 is refused when NODE_ENV=production (the sandbox exposes test aids)');
  }
  if (e.SMS_PROVIDER === 'console' && e.NODE_ENV === 'production') {
    problems.push('SMS_PROVIDER=console sends no SMS; use tencentcloud when NODE_ENV=production');
  }
  if (e.IDENTITY_VERIFIER === 'format-only' && e.NODE_ENV === 'production') {
    problems.push(
      "IDENTITY_VERIFIER=format-only lets anyone register under another person's name and ID number; use tencentcloud when NODE_ENV=production",
    );
  }
  if (e.IDENTITY_VERIFIER === 'tencentcloud') {
    for (const name of ['TENCENTCLOUD_SECRET_ID', 'TENCENTCLOUD_SECRET_KEY'] as const)
      if (!e[name]) problems.push(`${name} is required when IDENTITY_VERIFIER=tencentcloud`);
    if (e.NODE_ENV === 'production' && e.TENCENTCLOUD_FACEID_URL?.startsWith('http://'))
      problems.push(
        'TENCENTCLOUD_FACEID_URL must use https when NODE_ENV=production (it carries names and ID numbers)',
      );
  }
  if (e.NODE_ENV === 'production' && e.PUBLIC_URL && !e.PUBLIC_URL.startsWith('https://')) {
    problems.push('PUBLIC_URL must use https when NODE_ENV=production (session cookies are Secure)');
  }
  if (e.WECHAT_MESSAGE_MODE && e.WECHAT_MESSAGE_MODE !== 'plain' && !e.WECHAT_ENCODING_AES_KEY) {
    problems.push(`WECHAT_ENCODING_AES_KEY is required when WECHAT_MESSAGE_MODE=${e.WECHAT_MESSAGE_MODE}`);
  }
  if (e.LOGIN_QR_QUIET_SECONDS !== undefined && e.LOGIN_QR_QUIET_SECONDS < e.LOGIN_TICKET_TTL_SECONDS) {
    problems.push('LOGIN_QR_QUIET_SECONDS must be at least LOGIN_TICKET_TTL_SECONDS');
  }
  if (e.LOGIN_QR_LIFETIME_SECONDS <= e.LOGIN_TICKET_TTL_SECONDS + e.LOGIN_QR_RETIRE_MARGIN_SECONDS) {
    problems.push('LOGIN_QR_LIFETIME_SECONDS must exceed LOGIN_TICKET_TTL_SECONDS + LOGIN_QR_RETIRE_MARGIN_SECONDS');
  }
  const redisChoices = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter(
    (name) => source[name] !== undefined && source[name] !== '',
  );
  if (redisChoices.length === 0) {
    // Or REDIS_SENTINELS with REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES (.env.example says so).
    problems.push('REDIS_URL is required');
  } else if (redisChoices.length > 1) {
    problems.push(
      `${redisChoices.join(' and ')} are set: set exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES`,
    );
  }
  if (e.REDIS_TLS === '1' && !e.REDIS_SENTINELS) {
    problems.push('REDIS_TLS=1 applies to REDIS_SENTINELS; a URL says TLS itself (rediss://)');
  }
  if (e.REDIS_CLUSTER_NODES && new Set(list(e.REDIS_CLUSTER_NODES).map((url) => url.split(':')[0])).size > 1) {
    problems.push('REDIS_CLUSTER_NODES must all use redis:// or all rediss://');
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
          accountExistsTemplateId: e.TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS!,
        }
      : undefined;

  const faceidUrl = e.TENCENTCLOUD_FACEID_URL ? new URL(e.TENCENTCLOUD_FACEID_URL) : undefined;
  const identity: Config['identity'] = {
    verifier: e.IDENTITY_VERIFIER,
    limits: {
      perOpenid: e.IDENTITY_VERIFICATIONS_PER_OPENID_PER_DAY,
      perPhone: e.IDENTITY_VERIFICATIONS_PER_PHONE_PER_DAY,
      perIp: e.IDENTITY_VERIFICATIONS_PER_IP_PER_DAY,
    },
    ...(e.IDENTITY_VERIFIER === 'tencentcloud'
      ? {
          tencentcloud: {
            secretId: e.TENCENTCLOUD_SECRET_ID!,
            secretKey: e.TENCENTCLOUD_SECRET_KEY!,
            region: e.TENCENTCLOUD_FACEID_REGION ?? 'ap-guangzhou',
            mode: e.TENCENTCLOUD_FACEID_MODE,
            // The SDK appends "/" to its endpoint, so a path (the sandbox's /sandbox/faceid) rides along in it.
            ...(faceidUrl ? { endpoint: `${faceidUrl.host}${faceidUrl.pathname.replace(/\/+$/, '')}` } : {}),
            protocol: faceidUrl?.protocol === 'http:' ? 'http://' : 'https://',
            timeoutMs: e.IDENTITY_VERIFIER_TIMEOUT_MS,
          },
        }
      : {}),
  };

  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    // The sandbox serves SMS codes and drives simulated WeChat users: only this machine, unless HOST says so.
    host: e.HOST ?? (e.SANDBOX === '1' ? '127.0.0.1' : null),
    httpMaxConnections: e.HTTP_MAX_CONNECTIONS,
    longPoll: { maxPerTicket: e.LONG_POLL_MAX_PER_TICKET, maxPerIp: e.LONG_POLL_MAX_PER_IP },
    publicUrl: trimSlash(e.PUBLIC_URL),
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    metricsToken: e.METRICS_TOKEN ?? null,
    wechat: {
      appId: e.WECHAT_APPID,
      appSecret: e.WECHAT_APPSECRET,
      token: e.WECHAT_TOKEN,
      encodingAesKeys: [e.WECHAT_ENCODING_AES_KEY, e.WECHAT_ENCODING_AES_KEY_PREVIOUS].filter(
        (k): k is string => typeof k === 'string',
      ),
      messageMode: e.WECHAT_MESSAGE_MODE ?? (e.WECHAT_ENCODING_AES_KEY ? 'compatible' : 'plain'),
      apiBase: trimSlash(e.WECHAT_API_BASE),
      openBase: trimSlash(e.WECHAT_OPEN_BASE),
      mpBase: trimSlash(e.WECHAT_MP_BASE),
      maxSkewSeconds: e.WECHAT_MAX_SKEW_SECONDS,
      apiTimeoutMs: e.WECHAT_API_TIMEOUT_MS,
    },
    databaseUrl: e.DATABASE_URL,
    redis: redisTopology(e),
    redisReplicaAcks: {
      // One node has no replica to wait for; Sentinel and Cluster deployments have at least one.
      replicas: e.REDIS_WAIT_REPLICAS ?? (e.REDIS_URL ? 0 : 1),
      timeoutMs: e.REDIS_WAIT_TIMEOUT_MS,
    },
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    portal: {
      keys: portalKeys.keys,
      origins: list(e.PORTAL_ORIGINS),
      demo: e.PORTAL_DEMO === '1',
      ticketLimits: {
        perIpPerMinute: e.LOGIN_TICKETS_PER_IP_PER_MINUTE,
        perKeyPerMinute: e.LOGIN_TICKETS_PER_KEY_PER_MINUTE,
      },
    },
    sessionSecret: e.SESSION_SECRET,
    dataKey: Buffer.from(e.DATA_KEY, 'base64'),
    loginTicketTtlSeconds: e.LOGIN_TICKET_TTL_SECONDS,
    loginQr: {
      lifetimeSeconds: e.LOGIN_QR_LIFETIME_SECONDS,
      quietSeconds: e.LOGIN_QR_QUIET_SECONDS ?? e.LOGIN_TICKET_TTL_SECONDS,
      retireMarginSeconds: e.LOGIN_QR_RETIRE_MARGIN_SECONDS,
      warmIdle: e.LOGIN_QR_WARM_IDLE,
      dailyQuota: e.WECHAT_QRCODE_DAILY_QUOTA,
    },
    loginNotice: e.WECHAT_TEMPLATE_LOGIN_NOTICE
      ? { templateId: e.WECHAT_TEMPLATE_LOGIN_NOTICE, fields: loginNoticeFields(e.WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS) }
      : null,
    templateSends: { perSecond: e.WECHAT_TEMPLATE_SENDS_PER_SECOND, dailyBudget: e.WECHAT_TEMPLATE_DAILY_BUDGET },
    maxBindingsPerAccount: e.MAX_BINDINGS_PER_ACCOUNT,
    loginThrottle: {
      freeFailures: e.LOGIN_FAILURES_FREE,
      firstDelaySeconds: e.LOGIN_FAILURE_FIRST_DELAY_SECONDS,
      maxDelaySeconds: e.LOGIN_FAILURE_MAX_DELAY_SECONDS,
      identifierCeiling: e.LOGIN_FAILURES_PER_IDENTIFIER_CEILING,
      ceilingDelaySeconds: e.LOGIN_FAILURE_CEILING_DELAY_SECONDS,
      forgetSeconds: e.LOGIN_FAILURES_FORGET_SECONDS,
    },
    sms: tencent ? { provider: 'tencentcloud', tencentcloud: tencent } : { provider: 'console' },
    identity,
    sandbox: e.SANDBOX === '1',
    oidc: e.OIDC_CLIENTS_FILE ? { clientsFile: e.OIDC_CLIENTS_FILE, jwksFile: e.OIDC_JWKS_FILE ?? null } : null,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}

/** The secrets and the least entropy each needs; WeChat caps the Token at 32 letters and digits. */
const PRODUCTION_SECRETS: { name: keyof Env; minBits: number; advice: string }[] = [
  { name: 'WECHAT_APPSECRET', minBits: 80, advice: 'the AppSecret 微信公众平台 issued' },
  { name: 'WECHAT_TOKEN', minBits: 80, advice: '32 random letters and digits, e.g. openssl rand -hex 16' },
  { name: 'WECHAT_ENCODING_AES_KEY', minBits: 128, advice: 'the EncodingAESKey 微信公众平台 generates' },
  { name: 'WECHAT_ENCODING_AES_KEY_PREVIOUS', minBits: 128, advice: 'the EncodingAESKey 微信公众平台 generated' },
  { name: 'PORTAL_API_KEYS', minBits: 128, advice: 'random keys, e.g. openssl rand -base64 32 each' },
  { name: 'SESSION_SECRET', minBits: 128, advice: 'e.g. openssl rand -base64 32' },
  { name: 'DATA_KEY', minBits: 128, advice: 'openssl rand -base64 32' },
  { name: 'METRICS_TOKEN', minBits: 128, advice: 'e.g. openssl rand -base64 32' },
  { name: 'TENCENTCLOUD_SECRET_KEY', minBits: 80, advice: 'the SecretKey of a CAM API key' },
];

/** PORTAL_API_KEYS read into keys, once its overall shape passed the schema. */
function portalKeysOf(e: Env, already: string[]): ReturnType<typeof parsePortalKeys> {
  if (typeof e.PORTAL_API_KEYS !== 'string' || already.some((p) => p.startsWith('PORTAL_API_KEYS ')))
    return { keys: [], problems: [] };
  return parsePortalKeys(e.PORTAL_API_KEYS);
}

/**
 * One line per placeholder or guessable secret, skipping those already refused for their format;
 * each portal key is checked on its own, named when it has a name.
 */
function productionSecretProblems(e: Env, already: string[], portalKeys: PortalKey[]): string[] {
  const problems: string[] = [];
  for (const { name, minBits, advice } of PRODUCTION_SECRETS) {
    const value = e[name];
    if (typeof value !== 'string' || already.some((p) => p.startsWith(`${name} `))) continue;
    const labelled =
      name === 'PORTAL_API_KEYS'
        ? portalKeys.map((key) => ({
            label: key.name === UNNAMED_PORTAL.name ? name : `${name} key ${key.name}`,
            value: key.secret,
          }))
        : [{ label: name, value }];
    for (const { label, value: secret } of labelled) {
      const reason = weakSecretReason(secret, minBits, name === 'DATA_KEY' ? Buffer.from(secret, 'base64') : undefined);
      if (reason) problems.push(`${label} ${reason}; when NODE_ENV=production use ${advice}`);
    }
  }
  return [...new Set(problems)];
}

/** `time=time1, method=thing2` → `{time: 'time1', method: 'thing2'}` (the schema checked the form). */
function loginNoticeFields(value: string): Partial<Record<LoginNoticeFact, string>> {
  return Object.fromEntries(list(value).map((pair) => pair.split('=') as [LoginNoticeFact, string]));
}

function redisTopology(e: Env): RedisTopology {
  if (e.REDIS_SENTINELS) {
    return {
      kind: 'sentinel',
      sentinels: list(e.REDIS_SENTINELS).map((address) => {
        const at = address.lastIndexOf(':');
        return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
      }),
      masterName: e.REDIS_SENTINEL_MASTER!,
      ...(e.REDIS_PASSWORD ? { password: e.REDIS_PASSWORD } : {}),
      ...(e.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: e.REDIS_SENTINEL_PASSWORD } : {}),
      tls: e.REDIS_TLS === '1',
    };
  }
  if (e.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodeUrls: list(e.REDIS_CLUSTER_NODES) };
  return e.REDIS_URL === 'memory' ? { kind: 'memory' } : { kind: 'node', url: e.REDIS_URL! };
}
