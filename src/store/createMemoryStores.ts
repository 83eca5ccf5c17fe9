import { MemoryLoginFailureStore } from '../accounts/MemoryLoginFailureStore';
import { MemoryCaptchaStore } from '../captcha/MemoryCaptchaStore';
import type { Clock } from '../clock/Clock';
import { MemoryOAuthCallbackClaims } from '../h5/oauth/MemoryOAuthCallbackClaims';
import { MemoryWebOAuthTokenStore } from '../h5/oauth/MemoryWebOAuthTokenStore';
import { h5SessionAccount } from '../h5/session/h5Session';
import { MemorySessionStore } from '../http/session/MemorySessionStore';
import { portalSessionAccount } from '../portal/portalSession';
import { MemoryLoginTicketStore } from '../login/MemoryLoginTicketStore';
import { MemoryQrSceneStore } from '../login/MemoryQrSceneStore';
import { MemoryTicketChangeFeed } from '../login/MemoryTicketChangeFeed';
import { MemoryRateLimiter } from '../security/MemoryRateLimiter';
import { MemorySmsCodeStore } from '../sms/MemorySmsCodeStore';
import { MemoryAccessTokenStore } from '../wechat/api/MemoryAccessTokenStore';
import { MemoryPushDedupeStore } from '../wechat/MemoryPushDedupeStore';
import { MemoryPushNonceStore } from '../wechat/MemoryPushNonceStore';
import { MemoryExpiringRecordStore } from '../oidc/MemoryExpiringRecordStore';
import type { Stores } from './Stores';

/**
 * The stores in this process (REDIS_URL=memory, the embedded demo): one instance only, state gone
 * at exit, every lifetime by `clock`.
 */
export function createMemoryStores(clock: Clock): Stores {
  const ticketChanges = new MemoryTicketChangeFeed();
  return {
    dedupe: new MemoryPushDedupeStore(clock),
    pushNonces: new MemoryPushNonceStore(clock),
    accessTokens: new MemoryAccessTokenStore(clock),
    sessions: new MemorySessionStore(clock, h5SessionAccount),
    portalSessions: new MemorySessionStore(clock, portalSessionAccount),
    relyingPartySessions: new MemorySessionStore(clock),
    captcha: new MemoryCaptchaStore(clock),
    smsCodes: new MemorySmsCodeStore(clock),
    rateLimiter: new MemoryRateLimiter(clock),
    loginFailures: new MemoryLoginFailureStore(clock),
    loginTickets: new MemoryLoginTicketStore(clock, ticketChanges),
    ticketChanges,
    qrScenes: new MemoryQrSceneStore(),
    oauthClaims: new MemoryOAuthCallbackClaims(clock),
    oauthTokens: new MemoryWebOAuthTokenStore(clock),
    passwordResets: new MemoryExpiringRecordStore(clock),
  };
}
