import { systemClock } from '../clock/Clock';
import type { Config } from '../config/Config';
import type { Logger } from '../logging/createLogger';
import { closeRedis, connectRedis, createTopologyClient } from '../store/createRedis';
import { RedisKeys } from '../store/RedisKeys';
import type { AccessTokenStore } from '../wechat/api/AccessTokenStore';
import { AccessTokens } from '../wechat/api/AccessTokens';
import { MemoryAccessTokenStore } from '../wechat/api/MemoryAccessTokenStore';
import { RedisAccessTokenStore } from '../wechat/api/RedisAccessTokenStore';
import { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import { WeChatHttp } from '../wechat/api/WeChatHttp';

/** The menu APIs of the WeChat client, all the CLI calls. */
export type MenuApi = Pick<WeChatApiClient, 'createMenu' | 'getMenu' | 'deleteMenu'>;

export interface OpenedMenuApi {
  api: MenuApi;
  close(): Promise<void>;
}

/** Redis (the shared access token) could not be reached: the CLI says so and exits non-zero. */
export class TokenStoreUnavailableError extends Error {
  constructor(reason: string) {
    super(`Redis (where the shared WeChat access token lives) is not reachable: ${reason}`);
    this.name = 'TokenStoreUnavailableError';
  }
}

/**
 * A WeChat API client for the admin CLI. It shares the servers' access token through Redis
 * (REDIS_URL, REDIS_KEY_PREFIX) exactly as they do, so publishing a menu never makes WeChat revoke
 * the token the servers use; MySQL is not needed. `close` ends the Redis connection so the process
 * can exit.
 */
export async function openMenuApi(config: Config, logger: Logger): Promise<OpenedMenuApi> {
  let store: AccessTokenStore;
  let close: () => Promise<void>;
  if (config.redis.kind === 'memory') {
    // No Redis to share the token through: the CLI keeps its own. stable_token hands every caller
    // the same token, so fetching it never revokes the server's; a forced refresh would, so none.
    store = new MemoryAccessTokenStore(systemClock, { forcedRefreshesPerDay: 0 });
    close = () => Promise.resolve();
  } else {
    // A one-shot command should fail at once, not keep reconnecting as the servers do.
    const redis = createTopologyClient(
      config.redis,
      (error: Error) => logger.debug({ err: error }, 'redis connection error'),
      { reconnect: false },
    );
    try {
      await connectRedis(redis);
    } catch (error) {
      throw new TokenStoreUnavailableError((error as Error).message);
    }
    store = new RedisAccessTokenStore(redis, new RedisKeys(config.redisKeyPrefix));
    close = async () => {
      await closeRedis(redis).catch(() => redis.destroy());
    };
  }
  const http = new WeChatHttp(config.wechat.apiTimeoutMs);
  const tokens = new AccessTokens({
    http,
    apiBase: config.wechat.apiBase,
    appId: config.wechat.appId,
    appSecret: config.wechat.appSecret,
    store,
    clock: systemClock,
    logger,
  });
  const api = new WeChatApiClient({ http, tokens, apiBase: config.wechat.apiBase, mpBase: config.wechat.mpBase });
  return { api, close };
}
