import path from 'node:path';
import type { DataSource } from 'typeorm';
import { AccountService } from './accounts/AccountService';
import { AccountStore } from './accounts/AccountStore';
import { LoginThrottle } from './accounts/LoginThrottle';
import { AuditLog } from './audit/AuditLog';
import { RefusalAuditCap } from './audit/RefusalAuditCap';
import { BindingStore } from './binding/BindingStore';
import { BoundAccountCache } from './binding/BoundAccountCache';
import { MemoryBindingChangeFeed } from './binding/MemoryBindingChangeFeed';
import { RedisBindingChangeFeed } from './binding/RedisBindingChangeFeed';
import { systemClock, type Clock } from './clock/Clock';
import type { Config } from './config/Config';
import { connectDataSource } from './db/connectDataSource';
import type { OAuthCallbackClaims } from './h5/oauth/OAuthCallbackClaims';
import type { WebOAuth } from './h5/oauth/WebOAuth';
import type { H5SessionStore } from './h5/session/h5Session';
import { createLogger, type Logger } from './logging/createLogger';
import { InstrumentedWebOAuth } from './observability/InstrumentedWebOAuth';
import { Metrics } from './observability/Metrics';
import { projectRoot } from './projectRoot';
import { PersonalDataProtector } from './security/PersonalDataProtector';
import { WeChatSimulator } from './sandbox/simulator/WeChatSimulator';
import { loginNoticeTemplate } from './sandbox/simulator/loginNoticeTemplate';
import { closeRedis, connectRedis, createTopologyClient, type Redis } from './store/createRedis';
import { createMemoryStores } from './store/createMemoryStores';
import { createRedisStores } from './store/createRedisStores';
import { RedisKeys } from './store/RedisKeys';
import { ReplicaAcks } from './store/ReplicaAcks';
import type { Stores } from './store/Stores';
import { AccessTokens } from './wechat/api/AccessTokens';
import { WeChatApiClient } from './wechat/api/WeChatApiClient';
import { WeChatHttp } from './wechat/api/WeChatHttp';
import { MessageCipher } from './wechat/MessageCipher';
import type { PushDedupeStore } from './wechat/PushDedupeStore';
import { ReplyTemplates } from './wechat/ReplyTemplates';
import { SceneRegistry } from './wechat/SceneRegistry';
import { LoginService } from './login/LoginService';
import { QrScenePool } from './login/QrScenePool';
import { SCENE_PREFIX } from './login/ticketIdentifiers';
import { TicketChangeHub } from './login/TicketChangeHub';
import { CaptchaService } from './captcha/CaptchaService';
import { SmsOutbox } from './sandbox/SmsOutbox';
import { FaceidSandbox } from './sandbox/faceid/FaceidSandbox';
import { SANDBOX_PEOPLE } from './sandbox/faceid/sandboxPeople';
import type { RateLimiter } from './security/RateLimiter';
import { IpRegionLookup } from './region/IpRegionLookup';
import { LoginNoticeSender } from './loginsafety/LoginNoticeSender';
import {
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_PER_RECIPIENT_PER_MINUTE,
  TemplateSendLimiter,
} from './loginsafety/TemplateSendLimiter';
import { createSmsSender } from './sms/createSmsSender';
import { createIdentityVerifier } from './registration/createIdentityVerifier';
import type { IdentityVerifier } from './registration/IdentityVerifier';
import { SmsCodeService } from './sms/SmsCodeService';
import { SmsCodeStep } from './sms/SmsCodeStep';
import { PasswordService } from './password/PasswordService';
import type { SmsSender } from './sms/SmsSender';
import { SmsSubjectDigest } from './sms/SmsSubjectDigest';
import type { AccountLogout } from './oidc/AccountLogout';
import { InteractionStates } from './oidc/InteractionStates';
import { MemoryExpiringRecordStore } from './oidc/MemoryExpiringRecordStore';
import { createOidcProvider, type OidcProvider } from './oidc/oidcProvider';
import { OidcRenderer } from './oidc/OidcRenderer';
import { RedisExpiringRecordStore } from './oidc/RedisExpiringRecordStore';

/** Where the app serves the WeChat simulator when SANDBOX=1. */
export const SIMULATOR_PATH = '/sandbox/wechat';
/** Where the 实名核身 stand-in answers when SANDBOX=1 (TENCENTCLOUD_FACEID_URL may point here). */
export const FACEID_SANDBOX_PATH = '/sandbox/faceid';

/** Everything with state or I/O, built once here and passed to whoever needs it. */
export interface Dependencies {
  config: Config;
  clock: Clock;
  logger: Logger;
  /** The Prometheus metrics of this instance (its own registry), served at /metrics. */
  metrics: Metrics;
  db: DataSource;
  /** The Redis client, or null with REDIS_URL=memory (the embedded demo), where no client is made. */
  redis: Redis | null;
  keys: RedisKeys;
  /** The short-lived shared state: in Redis, or in this process with REDIS_URL=memory. */
  stores: Stores;
  ciphers: MessageCipher[];
  accessTokens: AccessTokens;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  scenes: SceneRegistry;
  bindings: BindingStore;
  /**
   * Which account an openid is bound to, cached for the scan hot path only; every write to
   * wechat_bindings announces itself through it (BindingService.changes) so every instance forgets.
   */
  boundAccounts: BoundAccountCache;
  dedupe: PushDedupeStore;
  /** Encrypts and indexes ID and phone numbers (DATA_KEY). */
  protector: PersonalDataProtector;
  audit: AuditLog;
  accounts: AccountService;
  /** The fake WeChat API served under /sandbox/wechat when SANDBOX=1, else null. */
  simulator: WeChatSimulator | null;
  rateLimiter: RateLimiter;
  /** Image captchas by scope (`<sessionId>:<form>`). */
  captcha: CaptchaService;
  /** The SMS inbox served at /sandbox/sms when SANDBOX=1, else null. */
  smsOutbox: SmsOutbox | null;
  /** The 实名核身 stand-in served at /sandbox/faceid when SANDBOX=1, else null. */
  faceid: FaceidSandbox | null;
  smsSender: SmsSender;
  smsCodes: SmsCodeService;
  /** The one 获取验证码 step of the H5 flows: captcha, quotas, delivery failure, refusal texts, audit. */
  smsStep: SmsCodeStep;
  /** 忘记密码 and 修改密码, with what a new password ends and tells. */
  passwords: PasswordService;
  /** 实名注册's identity check, as IDENTITY_VERIFIER names it. */
  identityVerifier: IdentityVerifier;
  projectRoot: string;
  /** H5 sessions, the web OAuth client and its repeated-callback claims. */
  sessions: H5SessionStore;
  webOAuth: WebOAuth;
  oauthClaims: OAuthCallbackClaims;
  /** 微信扫码登录, and the process's one subscription that wakes its long-polls. */
  login: LoginService;
  ticketChanges: TicketChangeHub;
  /** The leased, recycled login QR codes. */
  qrPool: QrScenePool;
  /** The OpenID Connect provider (a Koa app mounted at /oidc) and its login page's state, or null without OIDC_CLIENTS_FILE. */
  oidc: {
    provider: OidcProvider;
    states: InteractionStates;
    renderer: OidcRenderer;
    /** Ends an account's sessions with back-channel logout (on unbind, and on a new password). */
    logout: AccountLogout;
  } | null;
  /** Where an IP address is (offline database), for the confirm page, notices and 登录记录. */
  regions: IpRegionLookup;
  /** The template message after each login, or null when WECHAT_TEMPLATE_LOGIN_NOTICE is unset. */
  loginNotices: LoginNoticeSender | null;
}

export interface DependencyOverrides {
  clock?: Clock;
  logger?: Logger;
}

export async function buildDependencies(config: Config, overrides: DependencyOverrides = {}): Promise<Dependencies> {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  const root = projectRoot();

  // REDIS_URL=memory (the embedded demo): no Redis client at all; every store lives in this process.
  const redis =
    config.redis.kind === 'memory'
      ? null
      : createTopologyClient(config.redis, (error) => logger.warn({ err: error }, 'redis connection error'));
  let db: DataSource;
  try {
    [db] = await Promise.all([connectDataSource(config.databaseUrl), redis ? connectRedis(redis) : Promise.resolve()]);
  } catch (error) {
    if (redis) await closeRedis(redis).catch(() => undefined);
    throw error;
  }

  const keys = new RedisKeys(config.redisKeyPrefix);
  const acks = new ReplicaAcks(config.redisReplicaAcks.replicas, config.redisReplicaAcks.timeoutMs);
  const stores = redis ? createRedisStores(redis, keys, clock, acks) : createMemoryStores(clock);
  const http = new WeChatHttp(config.wechat.apiTimeoutMs, metrics);
  const accessTokens = new AccessTokens({
    http,
    apiBase: config.wechat.apiBase,
    appId: config.wechat.appId,
    appSecret: config.wechat.appSecret,
    store: stores.accessTokens,
    clock,
    logger,
  });
  const protector = new PersonalDataProtector(config.dataKey);
  const audit = new AuditLog(db, clock, logger, new RefusalAuditCap(stores.rateLimiter, config.dataKey));
  const rateLimiter = stores.rateLimiter;
  const smsOutbox = config.sandbox ? new SmsOutbox() : null;
  const smsSender = createSmsSender(config, { logger, clock, outbox: smsOutbox });
  const bindings = new BindingStore(db);
  const boundAccounts = new BoundAccountCache({
    source: bindings,
    feed: redis ? new RedisBindingChangeFeed(redis, keys.key('binding', 'changes')) : new MemoryBindingChangeFeed(),
    clock,
    logger,
  });
  const regions = new IpRegionLookup();
  const wechatApi = new WeChatApiClient({
    http,
    tokens: accessTokens,
    apiBase: config.wechat.apiBase,
    mpBase: config.wechat.mpBase,
  });
  const smsSubjects = new SmsSubjectDigest(config.dataKey);
  const deps: Omit<Dependencies, 'login' | 'ticketChanges' | 'qrPool' | 'oidc' | 'smsStep' | 'passwords'> = {
    config,
    clock,
    logger,
    metrics,
    db,
    redis,
    keys,
    stores,
    ciphers: config.wechat.encodingAesKeys.map((key) => new MessageCipher(key, config.wechat.appId)),
    accessTokens,
    wechatApi,
    templates: new ReplyTemplates(path.join(root, 'templates', 'replies'), {
      bindUrl: `${config.publicUrl}/h5/bind`,
      registerUrl: `${config.publicUrl}/h5/register`,
      loginsUrl: `${config.publicUrl}/h5/logins`,
    }),
    scenes: new SceneRegistry(),
    bindings,
    boundAccounts,
    dedupe: stores.dedupe,
    protector,
    audit,
    accounts: new AccountService({
      store: new AccountStore(db, protector),
      protector,
      audit,
      clock,
      throttle: new LoginThrottle(stores.loginFailures, config.dataKey, config.loginThrottle),
    }),
    simulator: config.sandbox
      ? new WeChatSimulator({
          appId: config.wechat.appId,
          appSecret: config.wechat.appSecret,
          clock,
          publicBase: `${config.publicUrl}${SIMULATOR_PATH}`,
          // Codes of the simulated WeChat users go to this service only, never to another site.
          redirectBase: config.publicUrl,
        })
      : null,
    rateLimiter,
    captcha: new CaptchaService({ store: stores.captcha, clock }),
    smsOutbox,
    faceid: config.sandbox
      ? new FaceidSandbox({
          people: SANDBOX_PEOPLE,
          now: () => clock.now(),
          ...(config.identity.tencentcloud ? { secretId: config.identity.tencentcloud.secretId } : {}),
        })
      : null,
    smsSender,
    smsCodes: new SmsCodeService({
      store: stores.smsCodes,
      rateLimiter,
      sender: smsSender,
      clock,
      subjects: smsSubjects,
    }),
    identityVerifier: createIdentityVerifier(config, { clock, rateLimiter, protector }),
    projectRoot: root,
    sessions: stores.sessions,
    webOAuth: new InstrumentedWebOAuth(
      {
        appId: config.wechat.appId,
        appSecret: config.wechat.appSecret,
        apiBase: config.wechat.apiBase,
        openBase: config.wechat.openBase,
        timeoutMs: config.wechat.apiTimeoutMs,
        tokens: stores.oauthTokens,
      },
      metrics,
    ),
    oauthClaims: stores.oauthClaims,
    regions,
    loginNotices: config.loginNotice
      ? new LoginNoticeSender({
          ...config.loginNotice,
          historyUrl: `${config.publicUrl}/h5/logins`,
          bindings,
          wechatApi,
          limiter: new TemplateSendLimiter(rateLimiter, clock, {
            ...config.templateSends,
            perRecipientPerMinute: DEFAULT_PER_RECIPIENT_PER_MINUTE,
            maxWaitMs: DEFAULT_MAX_WAIT_MS,
          }),
          templates: new ReplyTemplates(path.join(root, 'templates', 'notices'), {}, { autoescape: false }),
          regions,
          metrics,
          logger,
        })
      : null,
  };
  // The sandbox's WeChat has the login notice's template in 我的模板, as the real console would.
  if (deps.simulator && config.loginNotice)
    deps.simulator.addMessageTemplate(loginNoticeTemplate(config.loginNotice.templateId, config.loginNotice.fields));
  const smsStep = new SmsCodeStep({ captcha: deps.captcha, smsCodes: deps.smsCodes, audit, logger });
  const ticketChanges = new TicketChangeHub(stores.ticketChanges);
  await ticketChanges.start();
  await boundAccounts.start();
  const qrPool = new QrScenePool({
    store: stores.qrScenes,
    wechatApi: deps.wechatApi,
    clock,
    logger,
    metrics,
    ticketTtlSeconds: config.loginTicketTtlSeconds,
    ...config.loginQr,
  });
  metrics.watchQrBudget(() => qrPool.budget());
  const login = new LoginService({
    store: stores.loginTickets,
    hub: ticketChanges,
    qrPool,
    wechatApi: deps.wechatApi,
    boundAccounts,
    bindings,
    accounts: deps.accounts,
    audit: deps.audit,
    templates: deps.templates,
    clock,
    ttlSeconds: config.loginTicketTtlSeconds,
    publicUrl: config.publicUrl,
    metrics,
  });
  deps.scenes.register(SCENE_PREFIX, (scan) => login.onScan(scan));
  qrPool.warmUp();
  async function buildOidc(settings: NonNullable<Config['oidc']>) {
    const store = redis ? new RedisExpiringRecordStore(redis, keys, 'oidc') : new MemoryExpiringRecordStore(clock);
    const renderer = new OidcRenderer(path.join(root, 'templates'));
    const { provider, logout } = await createOidcProvider({
      publicUrl: config.publicUrl,
      clientsFile: settings.clientsFile,
      jwksFile: settings.jwksFile,
      cookieSecret: config.sessionSecret,
      dataKey: config.dataKey,
      trustProxy: config.trustProxy > 0,
      store,
      accounts: deps.accounts,
      clock,
      renderer,
      logger,
    });
    return { provider, states: new InteractionStates(store), renderer, logout };
  }
  const oidc = config.oidc ? await buildOidc(config.oidc) : null;
  const passwords = new PasswordService({
    accounts: deps.accounts,
    bindings,
    resets: stores.passwordResets,
    rateLimiter,
    smsStep,
    smsCodes: deps.smsCodes,
    protector,
    subjects: smsSubjects,
    h5Sessions: stores.sessions,
    portalSessions: stores.portalSessions,
    audit,
    wechatApi: deps.wechatApi,
    templates: deps.templates,
    clock,
    logger,
    // A new password also ends the account's provider sessions, with back-channel logout.
    ...(oidc ? { onNewPassword: (accountId: string) => oidc.logout.logoutAccount(accountId) } : {}),
  });
  return { ...deps, smsStep, passwords, login, ticketChanges, qrPool, oidc };
}

export async function closeDependencies(deps: Dependencies): Promise<void> {
  await deps.ticketChanges.stop().catch(() => undefined);
  await deps.boundAccounts.stop().catch(() => undefined);
  await deps.qrPool.idle();
  await deps.passwords.idle();
  // Audit rows already accepted are committed before the pool closes.
  await deps.audit.idle();
  await Promise.allSettled([
    deps.db.isInitialized ? deps.db.destroy() : Promise.resolve(),
    deps.redis ? closeRedis(deps.redis) : Promise.resolve(),
  ]);
}
