import path from 'node:path';
import type { DataSource } from 'typeorm';
import { BindingStore } from './binding/BindingStore';
import { systemClock, type Clock } from './clock/Clock';
import type { Config } from './config/Config';
import { connectDataSource } from './db/connectDataSource';
import { createLogger, type Logger } from './logging/createLogger';
import { projectRoot } from './projectRoot';
import { WeChatSimulator } from './sandbox/simulator/WeChatSimulator';
import { connectRedis, createRedis, type Redis } from './store/createRedis';
import { RedisKeys } from './store/RedisKeys';
import { AccessTokens } from './wechat/api/AccessTokens';
import { RedisAccessTokenStore } from './wechat/api/RedisAccessTokenStore';
import { WeChatApiClient } from './wechat/api/WeChatApiClient';
import { WeChatHttp } from './wechat/api/WeChatHttp';
import { MessageCipher } from './wechat/MessageCipher';
import type { PushDedupeStore } from './wechat/PushDedupeStore';
import { RedisPushDedupeStore } from './wechat/RedisPushDedupeStore';
import { ReplyTemplates } from './wechat/ReplyTemplates';
import { SceneRegistry } from './wechat/SceneRegistry';

/** Where the app serves the WeChat simulator when SANDBOX=1. */
export const SIMULATOR_PATH = '/sandbox/wechat';

/** Everything with state or I/O, built once here and passed to whoever needs it. */
export interface Dependencies {
  config: Config;
  clock: Clock;
  logger: Logger;
  db: DataSource;
  redis: Redis;
  keys: RedisKeys;
  ciphers: MessageCipher[];
  accessTokens: AccessTokens;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  scenes: SceneRegistry;
  bindings: BindingStore;
  dedupe: PushDedupeStore;
  /** The fake WeChat API served under /sandbox/wechat when SANDBOX=1, else null. */
  simulator: WeChatSimulator | null;
}

export interface DependencyOverrides {
  clock?: Clock;
  logger?: Logger;
}

export async function buildDependencies(config: Config, overrides: DependencyOverrides = {}): Promise<Dependencies> {
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const root = projectRoot();

  const redis = createRedis(config.redisUrl, (error) => logger.warn({ err: error }, 'redis connection error'));
  let db: DataSource;
  try {
    [db] = await Promise.all([connectDataSource(config.databaseUrl), connectRedis(redis)]);
  } catch (error) {
    if (redis.isOpen) await redis.close().catch(() => undefined);
    throw error;
  }

  const keys = new RedisKeys(config.redisKeyPrefix);
  const http = new WeChatHttp(config.wechat.apiTimeoutMs);
  const accessTokens = new AccessTokens({
    http,
    apiBase: config.wechat.apiBase,
    appId: config.wechat.appId,
    appSecret: config.wechat.appSecret,
    store: new RedisAccessTokenStore(redis, keys),
    clock,
    logger,
  });
  return {
    config,
    clock,
    logger,
    db,
    redis,
    keys,
    ciphers: config.wechat.encodingAesKeys.map((key) => new MessageCipher(key, config.wechat.appId)),
    accessTokens,
    wechatApi: new WeChatApiClient({ http, tokens: accessTokens, apiBase: config.wechat.apiBase, mpBase: config.wechat.mpBase }),
    templates: new ReplyTemplates(path.join(root, 'templates', 'replies'), {
      bindUrl: `${config.publicUrl}/h5/bind`,
      registerUrl: `${config.publicUrl}/h5/register`,
    }),
    scenes: new SceneRegistry(),
    bindings: new BindingStore(db),
    dedupe: new RedisPushDedupeStore(redis, keys),
    simulator: config.sandbox
      ? new WeChatSimulator({ appId: config.wechat.appId, appSecret: config.wechat.appSecret, clock, publicBase: `${config.publicUrl}${SIMULATOR_PATH}` })
      : null,
  };
}

export async function closeDependencies(deps: Dependencies): Promise<void> {
  await Promise.allSettled([
    deps.db.isInitialized ? deps.db.destroy() : Promise.resolve(),
    deps.redis.isOpen ? deps.redis.close() : Promise.resolve(),
  ]);
}
