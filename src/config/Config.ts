import type { PortalKey } from '../security/PortalKey';
import type { LoginThrottleLimits } from '../accounts/LoginThrottle';

/** The facts of a login a notice can show. */
export type LoginNoticeFact = 'time' | 'method' | 'portal' | 'region' | 'browser';

/** Where the short-lived shared state lives: this process (the demo), one node, Sentinel or Cluster. */
export type RedisTopology =
  | { kind: 'memory' }
  | { kind: 'node'; url: string }
  | {
      kind: 'sentinel';
      sentinels: { host: string; port: number }[];
      masterName: string;
      /** Of the primary and replicas (AUTH); the sentinels' own is sentinelPassword. */
      password?: string;
      sentinelPassword?: string;
      tls: boolean;
    }
  | { kind: 'cluster'; nodeUrls: string[] };

/** The validated configuration, built once at start and passed to whatever needs it. */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  /** Address to listen on; null: every interface. With SANDBOX=1 it is 127.0.0.1 unless HOST says otherwise. */
  host: string | null;
  /** Most HTTP connections one process holds open; more are closed at once. */
  httpMaxConnections: number;
  /** Long-polls held at once per ticket and per client IP (in each process); more are answered at once. */
  longPoll: { maxPerTicket: number; maxPerIp: number };
  /** Public base URL without a trailing slash, used in links sent to WeChat users. */
  publicUrl: string;
  logLevel: string;
  /**
   * How many proxies in front append to X-Forwarded-For (0: none). The client IP is the address the
   * outermost of them saw; entries left of it are the client's own writing and never believed.
   */
  trustProxy: number;
  /** Bearer token required on /metrics; null: /metrics answers only direct loopback connections. */
  metricsToken: string | null;
  wechat: {
    appId: string;
    appSecret: string;
    token: string;
    /** Current EncodingAESKey first, then the previous one kept during a rotation. */
    encodingAesKeys: string[];
    /** WECHAT_MESSAGE_MODE: safe accepts only encrypted pushes. */
    messageMode: 'plain' | 'compatible' | 'safe';
    apiBase: string;
    openBase: string;
    mpBase: string;
    maxSkewSeconds: number;
    apiTimeoutMs: number;
  };
  databaseUrl: string;
  redis: RedisTopology;
  /** Replicas that must hold a confirmation before it is acknowledged (WAIT), and how long to wait. */
  redisReplicaAcks: { replicas: number; timeoutMs: number };
  redisKeyPrefix: string;
  portal: {
    /** PORTAL_API_KEYS: each portal's name, display name, scopes and secret. */
    keys: PortalKey[];
    origins: string[];
    demo: boolean;
    /** POST /api/login/tickets per reported browser IP and per portal (key name), each a minute. */
    ticketLimits: { perIpPerMinute: number; perKeyPerMinute: number };
  };
  /** SESSION_SECRET: signs the OpenID Connect provider's cookies (H5 and portal sessions are random ids). */
  sessionSecret: string;
  dataKey: Buffer;
  loginTicketTtlSeconds: number;
  /** The pool of long-lived login QR codes whose scenes are leased to tickets (docs/architecture.md). */
  loginQr: {
    lifetimeSeconds: number;
    quietSeconds: number;
    retireMarginSeconds: number;
    warmIdle: number;
    dailyQuota: number;
  };
  /**
   * The template message sent to every WeChat bound to an account after each login; null: off.
   * `fields` maps each fact shown to the template's keyword (`{time: 'time1', …}`).
   */
  loginNotice: { templateId: string; fields: Partial<Record<LoginNoticeFact, string>> } | null;
  /** How fast template messages may go out, shared by every instance (WeChat's limits, docs/security.md). */
  templateSends: { perSecond: number; dailyBudget: number };
  maxBindingsPerAccount: number;
  /** How failed logins are paced per typed identifier and client (docs/security.md). */
  loginThrottle: LoginThrottleLimits;
  sms: {
    provider: 'console' | 'tencentcloud';
    tencentcloud?: {
      secretId: string;
      secretKey: string;
      region: string;
      sdkAppId: string;
      signName: string;
      /** The verification-code template. */
      templateId: string;
      /** The template sent instead of a 实名注册 code to a phone that already has an account. */
      accountExistsTemplateId: string;
    };
  };
  /** 实名注册's identity check (IDENTITY_VERIFIER); see docs/registration.md. */
  identity: {
    verifier: 'format-only' | 'tencentcloud';
    /** Verification calls allowed per day per WeChat user, phone and IP (tencentcloud only). */
    limits: { perOpenid: number; perPhone: number; perIp: number };
    tencentcloud?: {
      secretId: string;
      secretKey: string;
      region: string;
      /** three-element: name + ID + mobile (PhoneVerification); two-element: name + ID (IdCardVerification). */
      mode: 'three-element' | 'two-element';
      /** Host[:port] of the API, `faceid.tencentcloudapi.com` unless set (the sandbox in the demo). */
      endpoint?: string;
      /** http:// only for the local sandbox. */
      protocol: 'https://' | 'http://';
      timeoutMs: number;
    };
  };
  sandbox: boolean;
  /** The OpenID Connect provider under /oidc, when OIDC_CLIENTS_FILE is set (docs/oidc.md). */
  oidc: { clientsFile: string; jwksFile: string | null } | null;
  /** How long a graceful shutdown may take before the process exits anyway (code 1). */
  shutdownTimeoutMs: number;
}
