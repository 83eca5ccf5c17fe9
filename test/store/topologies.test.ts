import { RedisCaptchaStore } from '../../src/captcha/RedisCaptchaStore';
import { RedisOAuthCallbackClaims } from '../../src/h5/oauth/RedisOAuthCallbackClaims';
import { RedisWebOAuthTokenStore } from '../../src/h5/oauth/RedisWebOAuthTokenStore';
import type { SessionData } from '../../src/http/session/SessionStore';
import { RedisSessionStore } from '../../src/http/session/RedisSessionStore';
import { RedisLoginTicketStore } from '../../src/login/RedisLoginTicketStore';
import { RedisQrSceneStore } from '../../src/login/RedisQrSceneStore';
import { RedisTicketChangeFeed } from '../../src/login/RedisTicketChangeFeed';
import { RedisRateLimiter } from '../../src/security/RedisRateLimiter';
import { RedisSmsCodeStore } from '../../src/sms/RedisSmsCodeStore';
import { RedisAccessTokenStore } from '../../src/wechat/api/RedisAccessTokenStore';
import { RedisPushDedupeStore } from '../../src/wechat/RedisPushDedupeStore';
import { RedisPushNonceStore } from '../../src/wechat/RedisPushNonceStore';
import { ClusterSetup, SentinelSetup, type TestTopology } from '../support/redisTopologies';
import { describeAccessTokenStoreContract } from './accessTokenStore.contract';
import { describeCaptchaStoreContract } from './captchaStore.contract';
import { describeLoginTicketStoreContract } from './loginTicketStore.contract';
import { describeOAuthCallbackClaimsContract } from './oauthCallbackClaims.contract';
import { describePushDedupeStoreContract } from './pushDedupeStore.contract';
import { describePushNonceStoreContract } from './pushNonceStore.contract';
import { describeQrSceneStoreContract } from './qrSceneStore.contract';
import { describeRateLimiterContract } from './rateLimiter.contract';
import { describeSessionStoreContract } from './sessionStore.contract';
import { describeSmsCodeStoreContract } from './smsCodeStore.contract';
import { describeWebOAuthTokenStoreContract } from './webOAuthTokenStore.contract';
import { useTestRedis } from './support/testRedis';

/**
 * Every Redis store's contract on a 3-primary Cluster and on a Sentinel-managed primary: a
 * transaction or script whose keys spanned two slots would fail here with CROSSSLOT, and one that
 * relied on a single node's script cache with NOSCRIPT.
 */
const topologies: Array<[string, () => Promise<TestTopology>]> = [
  ['a Redis Cluster of three primaries', () => ClusterSetup.start()],
  ['a primary and a replica under three sentinels', () => SentinelSetup.start()],
];

for (const [name, start] of topologies) {
  describe(`store: every Redis store's contract on ${name}`, function () {
    this.timeout(60_000);
    let setup: TestTopology | null = null;
    before(async () => {
      setup = await start();
    });
    after(async () => {
      await setup?.dispose();
    });
    const redis = useTestRedis(() => setup!.topology);

    describeLoginTicketStoreContract(
      'RedisLoginTicketStore + RedisTicketChangeFeed',
      redis.open((client, keys) => {
        const tickets = new RedisLoginTicketStore(client, keys);
        return { tickets, changes: new RedisTicketChangeFeed(client, tickets.channel) };
      }),
    );
    describePushDedupeStoreContract(
      'RedisPushDedupeStore',
      redis.open((client, keys) => new RedisPushDedupeStore(client, keys)),
    );
    describePushNonceStoreContract(
      'RedisPushNonceStore',
      redis.open((client, keys) => new RedisPushNonceStore(client, keys)),
    );
    describeAccessTokenStoreContract(
      'RedisAccessTokenStore',
      redis.open((client, keys) => new RedisAccessTokenStore(client, keys)),
    );
    describeSessionStoreContract(
      'RedisSessionStore',
      redis.open(
        (client, keys) =>
          new RedisSessionStore<SessionData & { accountId?: string }>(client, keys, 'h5', (data) => data.accountId),
      ),
      (clock) => ({ csrfToken: 'token', createdAt: clock.now(), lastSeenAt: clock.now() }),
      (clock, accountId) => ({ csrfToken: 'token', createdAt: clock.now(), lastSeenAt: clock.now(), accountId }),
    );
    describeCaptchaStoreContract(
      'RedisCaptchaStore',
      redis.open((client, keys) => new RedisCaptchaStore(client, keys)),
    );
    describeSmsCodeStoreContract(
      'RedisSmsCodeStore',
      redis.open((client, keys) => new RedisSmsCodeStore(client, keys)),
    );
    describeRateLimiterContract(
      'RedisRateLimiter',
      redis.open((client, keys, clock) => new RedisRateLimiter(client, keys, clock)),
    );
    describeOAuthCallbackClaimsContract(
      'RedisOAuthCallbackClaims',
      redis.open((client, keys) => new RedisOAuthCallbackClaims(client, keys)),
    );
    describeWebOAuthTokenStoreContract(
      'RedisWebOAuthTokenStore',
      redis.open((client, keys) => new RedisWebOAuthTokenStore(client, keys)),
    );
    describeQrSceneStoreContract(
      'RedisQrSceneStore',
      redis.open((client, keys) => new RedisQrSceneStore(client, keys)),
    );
  });
}
