import type { JSONSchemaType } from 'ajv';

/** The environment as the service reads it, after ajv has applied defaults and coerced numbers. */
export interface Env {
  NODE_ENV: 'development' | 'production' | 'test';
  PORT: number;
  HOST?: string;
  PUBLIC_URL: string;
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  WECHAT_APPID: string;
  WECHAT_APPSECRET: string;
  WECHAT_TOKEN: string;
  WECHAT_ENCODING_AES_KEY?: string;
  WECHAT_ENCODING_AES_KEY_PREVIOUS?: string;
  WECHAT_MESSAGE_MODE?: 'plain' | 'compatible' | 'safe';
  WECHAT_API_BASE: string;
  WECHAT_OPEN_BASE: string;
  WECHAT_MP_BASE: string;
  WECHAT_MAX_SKEW_SECONDS: number;
  WECHAT_API_TIMEOUT_MS: number;
  SHUTDOWN_TIMEOUT_MS: number;
  HTTP_MAX_CONNECTIONS: number;
  LONG_POLL_MAX_PER_TICKET: number;
  LONG_POLL_MAX_PER_IP: number;
  DATABASE_URL: string;
  REDIS_URL?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_MASTER?: string;
  REDIS_SENTINEL_PASSWORD?: string;
  REDIS_PASSWORD?: string;
  REDIS_TLS: '0' | '1';
  REDIS_CLUSTER_NODES?: string;
  REDIS_WAIT_REPLICAS?: number;
  REDIS_WAIT_TIMEOUT_MS: number;
  REDIS_KEY_PREFIX: string;
  PORTAL_API_KEYS: string;
  LOGIN_TICKETS_PER_IP_PER_MINUTE: number;
  LOGIN_TICKETS_PER_KEY_PER_MINUTE: number;
  PORTAL_ORIGINS: string;
  PORTAL_DEMO: '0' | '1';
  TRUST_PROXY: number;
  METRICS_TOKEN?: string;
  SESSION_SECRET: string;
  DATA_KEY: string;
  LOGIN_TICKET_TTL_SECONDS: number;
  LOGIN_QR_LIFETIME_SECONDS: number;
  LOGIN_QR_QUIET_SECONDS?: number;
  LOGIN_QR_RETIRE_MARGIN_SECONDS: number;
  LOGIN_QR_WARM_IDLE: number;
  WECHAT_QRCODE_DAILY_QUOTA: number;
  WECHAT_TEMPLATE_LOGIN_NOTICE?: string;
  WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS: string;
  WECHAT_TEMPLATE_SENDS_PER_SECOND: number;
  WECHAT_TEMPLATE_DAILY_BUDGET: number;
  MAX_BINDINGS_PER_ACCOUNT: number;
  LOGIN_FAILURES_FREE: number;
  LOGIN_FAILURE_FIRST_DELAY_SECONDS: number;
  LOGIN_FAILURE_MAX_DELAY_SECONDS: number;
  LOGIN_FAILURES_PER_IDENTIFIER_CEILING: number;
  LOGIN_FAILURE_CEILING_DELAY_SECONDS: number;
  LOGIN_FAILURES_FORGET_SECONDS: number;
  SMS_PROVIDER: 'console' | 'tencentcloud';
  TENCENTCLOUD_SECRET_ID?: string;
  TENCENTCLOUD_SECRET_KEY?: string;
  TENCENTCLOUD_SMS_REGION?: string;
  TENCENTCLOUD_SMS_SDK_APP_ID?: string;
  TENCENTCLOUD_SMS_SIGN_NAME?: string;
  TENCENTCLOUD_SMS_TEMPLATE_ID?: string;
  TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS?: string;
  IDENTITY_VERIFIER: 'format-only' | 'tencentcloud';
  TENCENTCLOUD_FACEID_MODE: 'three-element' | 'two-element';
  TENCENTCLOUD_FACEID_REGION?: string;
  TENCENTCLOUD_FACEID_URL?: string;
  IDENTITY_VERIFIER_TIMEOUT_MS: number;
  IDENTITY_VERIFICATIONS_PER_OPENID_PER_DAY: number;
  IDENTITY_VERIFICATIONS_PER_PHONE_PER_DAY: number;
  IDENTITY_VERIFICATIONS_PER_IP_PER_DAY: number;
  SANDBOX: '0' | '1';
  OIDC_CLIENTS_FILE?: string;
  OIDC_JWKS_FILE?: string;
}

/** `fact=templateKey` pairs: which 模板 keyword (`thing3`, `time1`) shows which fact of a login. */
const LOGIN_NOTICE_FIELDS_PATTERN =
  '^(time|method|portal|region|browser)=[A-Za-z][A-Za-z0-9_]{0,31}( *, *(time|method|portal|region|browser)=[A-Za-z][A-Za-z0-9_]{0,31})*$';

const httpUrl = { type: 'string', pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$' } as const;
const flag = { type: 'string', enum: ['0', '1'], default: '0' } as const;

// Messages produced by ajv for these keywords name the rule, never the offending value,
// so a rejected secret is never echoed back.
export const envSchema: JSONSchemaType<Env> = {
  type: 'object',
  required: [
    'PUBLIC_URL',
    'WECHAT_APPID',
    'WECHAT_APPSECRET',
    'WECHAT_TOKEN',
    'DATABASE_URL',
    'PORTAL_API_KEYS',
    'SESSION_SECRET',
    'DATA_KEY',
  ],
  properties: {
    // Unset means production: the safeguards must be switched off on purpose, never on.
    NODE_ENV: { type: 'string', enum: ['development', 'production', 'test'], default: 'production' },
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 3000 },
    // An IP address to listen on; default (in loadConfig) every interface, or 127.0.0.1 with SANDBOX=1.
    HOST: { type: 'string', pattern: '^([0-9.]{7,15}|[0-9A-Fa-f:.]{2,45})$', nullable: true },
    PUBLIC_URL: httpUrl,
    LOG_LEVEL: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
    WECHAT_APPID: { type: 'string', pattern: '^wx[0-9a-zA-Z]{16}$' },
    WECHAT_APPSECRET: { type: 'string', pattern: '^[0-9a-zA-Z]{16,64}$' },
    // WeChat's console accepts 3–32 letters and digits for the Token.
    WECHAT_TOKEN: { type: 'string', pattern: '^[0-9a-zA-Z]{3,32}$' },
    WECHAT_ENCODING_AES_KEY: { type: 'string', pattern: '^[0-9a-zA-Z]{43}$', nullable: true },
    WECHAT_ENCODING_AES_KEY_PREVIOUS: { type: 'string', pattern: '^[0-9a-zA-Z]{43}$', nullable: true },
    // Default (in loadConfig): compatible with an EncodingAESKey, else plain.
    WECHAT_MESSAGE_MODE: { type: 'string', enum: ['plain', 'compatible', 'safe'], nullable: true },
    WECHAT_API_BASE: { ...httpUrl, default: 'https://api.weixin.qq.com' },
    WECHAT_OPEN_BASE: { ...httpUrl, default: 'https://open.weixin.qq.com' },
    WECHAT_MP_BASE: { ...httpUrl, default: 'https://mp.weixin.qq.com' },
    WECHAT_MAX_SKEW_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 300 },
    WECHAT_API_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 4000, default: 3000 },
    SHUTDOWN_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
    HTTP_MAX_CONNECTIONS: { type: 'integer', minimum: 16, maximum: 1000000, default: 15000 },
    LONG_POLL_MAX_PER_TICKET: { type: 'integer', minimum: 1, maximum: 1000, default: 4 },
    LONG_POLL_MAX_PER_IP: { type: 'integer', minimum: 1, maximum: 100000, default: 20 },
    DATABASE_URL: { type: 'string', pattern: '^(mysql://\\S+|sqlite:\\S+)$' },
    // Exactly one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES: checked in loadConfig.
    REDIS_URL: { type: 'string', pattern: '^(rediss?://\\S+|memory)$', nullable: true },
    REDIS_SENTINELS: { type: 'string', pattern: '^[^\\s,:]+:[0-9]{1,5}( *, *[^\\s,:]+:[0-9]{1,5})*$', nullable: true },
    REDIS_SENTINEL_MASTER: { type: 'string', pattern: '^[0-9A-Za-z_.-]{1,64}$', nullable: true },
    REDIS_SENTINEL_PASSWORD: { type: 'string', minLength: 1, nullable: true },
    REDIS_PASSWORD: { type: 'string', minLength: 1, nullable: true },
    REDIS_TLS: flag,
    REDIS_CLUSTER_NODES: {
      type: 'string',
      pattern: '^rediss?://[^\\s,]+( *, *rediss?://[^\\s,]+)*$',
      nullable: true,
    },
    REDIS_WAIT_REPLICAS: { type: 'integer', minimum: 0, maximum: 5, nullable: true },
    REDIS_WAIT_TIMEOUT_MS: { type: 'integer', minimum: 10, maximum: 2000, default: 200 },
    REDIS_KEY_PREFIX: { type: 'string', pattern: '^[0-9A-Za-z_.:-]{0,64}$', default: 'etax:' },
    // Each entry is checked in loadConfig (parsePortalKeys): a bare key or name:scopes:display name:key.
    PORTAL_API_KEYS: { type: 'string', pattern: '^[^\\s,]+( *, *[^\\s,]+)*$' },
    LOGIN_TICKETS_PER_IP_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 1000000, default: 30 },
    LOGIN_TICKETS_PER_KEY_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 1000000, default: 6000 },
    PORTAL_ORIGINS: { type: 'string', pattern: '^(https?://[^\\s,/]+(,https?://[^\\s,/]+)*)?$', default: '' },
    PORTAL_DEMO: flag,
    // Proxy hops in front that append to X-Forwarded-For (0: none, the socket's peer is the client).
    TRUST_PROXY: { type: 'integer', minimum: 0, maximum: 10, default: 0 },
    METRICS_TOKEN: { type: 'string', pattern: '^[!-~]{32,}$', nullable: true },
    SESSION_SECRET: { type: 'string', minLength: 32 },
    DATA_KEY: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' },
    LOGIN_TICKET_TTL_SECONDS: { type: 'integer', minimum: 30, maximum: 1800, default: 300 },
    LOGIN_QR_LIFETIME_SECONDS: { type: 'integer', minimum: 3600, maximum: 2592000, default: 604800 },
    LOGIN_QR_QUIET_SECONDS: { type: 'integer', minimum: 30, maximum: 86400, nullable: true },
    LOGIN_QR_RETIRE_MARGIN_SECONDS: { type: 'integer', minimum: 60, maximum: 86400, default: 3600 },
    LOGIN_QR_WARM_IDLE: { type: 'integer', minimum: 0, maximum: 1000, default: 0 },
    WECHAT_QRCODE_DAILY_QUOTA: { type: 'integer', minimum: 1, maximum: 100000000, default: 100000 },
    // The 模板ID of 我的模板 in 微信公众平台; unset: no login notices.
    WECHAT_TEMPLATE_LOGIN_NOTICE: { type: 'string', pattern: '^[0-9A-Za-z_-]{1,64}$', nullable: true },
    WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS: {
      type: 'string',
      pattern: LOGIN_NOTICE_FIELDS_PATTERN,
      default: 'time=time1,method=thing2,portal=thing3,region=thing4,browser=thing5',
    },
    WECHAT_TEMPLATE_SENDS_PER_SECOND: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
    WECHAT_TEMPLATE_DAILY_BUDGET: { type: 'integer', minimum: 1, maximum: 100000000, default: 50000 },
    MAX_BINDINGS_PER_ACCOUNT: { type: 'integer', minimum: 1, maximum: 100, default: 1 },
    LOGIN_FAILURES_FREE: { type: 'integer', minimum: 1, maximum: 100, default: 5 },
    LOGIN_FAILURE_FIRST_DELAY_SECONDS: { type: 'integer', minimum: 1, maximum: 3600, default: 15 },
    LOGIN_FAILURE_MAX_DELAY_SECONDS: { type: 'integer', minimum: 1, maximum: 86400, default: 900 },
    LOGIN_FAILURES_PER_IDENTIFIER_CEILING: { type: 'integer', minimum: 1, maximum: 100000, default: 50 },
    LOGIN_FAILURE_CEILING_DELAY_SECONDS: { type: 'integer', minimum: 1, maximum: 3600, default: 60 },
    LOGIN_FAILURES_FORGET_SECONDS: { type: 'integer', minimum: 60, maximum: 2592000, default: 86400 },
    SMS_PROVIDER: { type: 'string', enum: ['console', 'tencentcloud'], default: 'console' },
    TENCENTCLOUD_SECRET_ID: { type: 'string', minLength: 1, nullable: true },
    TENCENTCLOUD_SECRET_KEY: { type: 'string', minLength: 1, nullable: true },
    TENCENTCLOUD_SMS_REGION: { type: 'string', minLength: 1, nullable: true },
    TENCENTCLOUD_SMS_SDK_APP_ID: { type: 'string', pattern: '^[0-9]+$', nullable: true },
    TENCENTCLOUD_SMS_SIGN_NAME: { type: 'string', minLength: 1, nullable: true },
    TENCENTCLOUD_SMS_TEMPLATE_ID: { type: 'string', pattern: '^[0-9]+$', nullable: true },
    TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS: { type: 'string', pattern: '^[0-9]+$', nullable: true },
    IDENTITY_VERIFIER: { type: 'string', enum: ['format-only', 'tencentcloud'], default: 'format-only' },
    TENCENTCLOUD_FACEID_MODE: { type: 'string', enum: ['three-element', 'two-element'], default: 'three-element' },
    TENCENTCLOUD_FACEID_REGION: { type: 'string', minLength: 1, nullable: true },
    TENCENTCLOUD_FACEID_URL: { type: 'string', pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$', nullable: true },
    IDENTITY_VERIFIER_TIMEOUT_MS: { type: 'integer', minimum: 500, maximum: 10000, default: 3000 },
    IDENTITY_VERIFICATIONS_PER_OPENID_PER_DAY: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
    IDENTITY_VERIFICATIONS_PER_PHONE_PER_DAY: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
    IDENTITY_VERIFICATIONS_PER_IP_PER_DAY: { type: 'integer', minimum: 1, maximum: 100000, default: 50 },
    SANDBOX: flag,
    OIDC_CLIENTS_FILE: { type: 'string', minLength: 1, nullable: true },
    OIDC_JWKS_FILE: { type: 'string', minLength: 1, nullable: true },
  },
  if: { required: ['SMS_PROVIDER'], properties: { SMS_PROVIDER: { const: 'tencentcloud' } } },
  then: {
    required: [
      'TENCENTCLOUD_SECRET_ID',
      'TENCENTCLOUD_SECRET_KEY',
      'TENCENTCLOUD_SMS_SDK_APP_ID',
      'TENCENTCLOUD_SMS_SIGN_NAME',
      'TENCENTCLOUD_SMS_TEMPLATE_ID',
      'TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS',
    ],
  },
  dependencies: {
    WECHAT_ENCODING_AES_KEY_PREVIOUS: ['WECHAT_ENCODING_AES_KEY'],
    REDIS_SENTINELS: ['REDIS_SENTINEL_MASTER'],
    REDIS_SENTINEL_MASTER: ['REDIS_SENTINELS'],
    REDIS_SENTINEL_PASSWORD: ['REDIS_SENTINELS'],
    REDIS_PASSWORD: ['REDIS_SENTINELS'],
  },
  additionalProperties: true,
};

/** What a variable that fails its pattern must look like, in words an operator can act on. */
export const FORMAT_HINTS: Partial<Record<keyof Env, string>> = {
  PUBLIC_URL: 'must be an http(s) URL without query or fragment',
  HOST: 'must be an IP address to listen on, such as 127.0.0.1, 0.0.0.0 or ::',
  WECHAT_APPID: 'must be "wx" followed by 16 letters or digits',
  WECHAT_APPSECRET: 'must be 16 to 64 letters or digits',
  WECHAT_TOKEN: 'must be 3 to 32 letters or digits',
  WECHAT_ENCODING_AES_KEY: 'must be 43 letters or digits',
  WECHAT_ENCODING_AES_KEY_PREVIOUS: 'must be 43 letters or digits',
  WECHAT_API_BASE: 'must be an http(s) URL',
  WECHAT_OPEN_BASE: 'must be an http(s) URL',
  WECHAT_MP_BASE: 'must be an http(s) URL',
  DATABASE_URL: 'must be mysql://user:password@host:port/database (or sqlite:PATH for the embedded demo)',
  REDIS_URL: 'must be redis://host:port, rediss:// for TLS (or memory for the embedded demo)',
  REDIS_SENTINELS: 'must be comma-separated host:port of the sentinels',
  REDIS_SENTINEL_MASTER: 'must be the master name the sentinels monitor (1-64 of A-Z a-z 0-9 _ . -)',
  REDIS_CLUSTER_NODES: 'must be comma-separated redis://host:port (rediss:// for TLS) of some cluster nodes',
  REDIS_KEY_PREFIX: 'must be at most 64 of A-Z a-z 0-9 _ . : -',
  PORTAL_API_KEYS:
    'must be comma-separated entries, each name:scope+scope:display name:key or a bare key, without spaces inside an entry',
  PORTAL_ORIGINS: 'must be comma-separated origins like https://etax.example.gov.cn (no path)',
  METRICS_TOKEN: 'must be at least 32 printable ASCII characters without spaces',
  DATA_KEY: 'must be 32 bytes in base64 (44 characters ending in =; e.g. openssl rand -base64 32)',
  WECHAT_TEMPLATE_LOGIN_NOTICE: 'must be the 模板ID of 微信公众平台 (letters, digits, _ and -)',
  WECHAT_TEMPLATE_LOGIN_NOTICE_FIELDS:
    'must be comma-separated fact=keyword pairs, facts from time, method, portal, region, browser (e.g. time=time1,method=thing2)',
  TENCENTCLOUD_SMS_SDK_APP_ID: 'must be digits',
  TENCENTCLOUD_SMS_TEMPLATE_ID: 'must be digits',
  TENCENTCLOUD_SMS_TEMPLATE_ID_ACCOUNT_EXISTS: 'must be digits',
  TENCENTCLOUD_FACEID_URL: 'must be an http(s) URL without query, like http://127.0.0.1:3000/sandbox/faceid',
};
