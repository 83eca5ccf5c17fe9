import { RedisLoginFailureStore } from '../accounts/RedisLoginFailureStore';
import { RedisCaptchaStore } from '../captcha/RedisCaptchaStore';
import type { Clock } from '../clock/Clock';
import { RedisOAuthCallbackClaims } from '../h5/oauth/RedisOAuthCallbackClaims';
import { RedisWebOAuthTokenStore } from '../h5/oauth/RedisWebOAuthTokenStore';
import { H5_SESSIONS, h5SessionAccount } from '../h5/session/h5Session';
import { RedisSessionStore } from '../http/session/RedisSessionStore';
import { RedisLoginTicketStore } from '../login/RedisLoginTicketStore';
import { RedisQrSceneStore } from '../login/RedisQrSceneStore';
import { RedisTicketChangeFeed } from '../login/RedisTicketChangeFeed';
import { PORTAL_SESSIONS, portalSessionAccount } from '../portal/portalSession';
import { RELYING_PARTY_SESSIONS } from '../relyingParty/relyingPartySession';
import { RedisRateLimiter } from '../security/RedisRateLimiter';
import { RedisSmsCodeStore } from '../sms/RedisSmsCodeStore';
import { RedisAccessTokenStore } from '../wechat/api/RedisAccessTokenStore';
import { RedisPushDedupeStore } from '../wechat/RedisPushDedupeStore';
import { RedisPushNonceStore } from '../wechat/RedisPushNonceStore';
import type { Redis } from './createRedis';
import type { RedisKeys } from './RedisKeys';
import type { ReplicaAcks } from './ReplicaAcks';
import { RedisExpiringRecordStore } from '../oidc/RedisExpiringRecordStore';
import type { Stores } from './Stores';

/**
 * The stores in Redis under `keys`, shared by every instance on the same Redis and prefix; a login
 * confirmation or redeem is acknowledged once `acks` says it is on the replicas.
 */
export function createRedisStores(redis: Redis, keys: RedisKeys, clock: Clock, acks: ReplicaAcks): Stores {
  const loginTickets = new RedisLoginTicketStore(redis, keys, acks);
  return {
    dedupe: new RedisPushDedupeStore(redis, keys),
    pushNonces: new RedisPushNonceStore(redis, keys),
    accessTokens: new RedisAccessTokenStore(redis, keys),
    sessions: new RedisSessionStore(redis, keys, H5_SESSIONS.namespace, h5SessionAccount),
    portalSessions: new RedisSessionStore(redis, keys, PORTAL_SESSIONS.namespace, portalSessionAccount),
    relyingPartySessions: new RedisSessionStore(redis, keys, RELYING_PARTY_SESSIONS.namespace),
    captcha: new RedisCaptchaStore(redis, keys),
    smsCodes: new RedisSmsCodeStore(redis, keys),
    rateLimiter: new RedisRateLimiter(redis, keys, clock),
    loginFailures: new RedisLoginFailureStore(redis, keys, clock),
    loginTickets,
    ticketChanges: new RedisTicketChangeFeed(redis, loginTickets.channel),
    qrScenes: new RedisQrSceneStore(redis, keys),
    oauthClaims: new RedisOAuthCallbackClaims(redis, keys),
    oauthTokens: new RedisWebOAuthTokenStore(redis, keys),
    passwordResets: new RedisExpiringRecordStore(redis, keys, 'password-reset'),
  };
}
