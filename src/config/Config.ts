/** The validated configuration, built once at start and passed to whatever needs it. */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  /** Public base URL without a trailing slash, used in links sent to WeChat users. */
  publicUrl: string;
  logLevel: string;
  /** Trust X-Forwarded-For/-Proto from the load balancer in front (client IPs shown on the confirm page). */
  trustProxy: boolean;
  /** Bearer token required on /metrics; null: /metrics answers only direct loopback connections. */
  metricsToken: string | null;
  wechat: {
    appId: string;
    appSecret: string;
    token: string;
    /** Current EncodingAESKey first, then the previous one kept during a rotation. */
    encodingAesKeys: string[];
    apiBase: string;
    openBase: string;
    mpBase: string;
    maxSkewSeconds: number;
    apiTimeoutMs: number;
  };
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  portal: { apiKeys: string[]; origins: string[]; demo: boolean };
  sessionSecret: string;
  dataKey: Buffer;
  loginTicketTtlSeconds: number;
  maxBindingsPerAccount: number;
  sms: {
    provider: 'console' | 'tencentcloud';
    tencentcloud?: {
      secretId: string;
      secretKey: string;
      region: string;
      sdkAppId: string;
      signName: string;
      templateId: string;
    };
  };
  sandbox: boolean;
  /** The OpenID Connect provider under /oidc, when OIDC_CLIENTS_FILE is set (docs/oidc.md). */
  oidc: { clientsFile: string; jwksFile: string | null } | null;
  /** How long a graceful shutdown may take before the process exits anyway (code 1). */
  shutdownTimeoutMs: number;
}
