import type { LoginFailureStore } from '../accounts/LoginFailureStore';
import type { CaptchaStore } from '../captcha/CaptchaStore';
import type { OAuthCallbackClaims } from '../h5/oauth/OAuthCallbackClaims';
import type { WebOAuthTokenStore } from '../h5/oauth/WebOAuthTokenStore';
import type { H5SessionStore } from '../h5/session/h5Session';
import type { LoginTicketStore } from '../login/LoginTicketStore';
import type { QrSceneStore } from '../login/QrSceneStore';
import type { TicketChangeFeed } from '../login/TicketChangeFeed';
import type { PortalSessionStore } from '../portal/portalSession';
import type { RelyingPartySessionStore } from '../relyingParty/relyingPartySession';
import type { RateLimiter } from '../security/RateLimiter';
import type { SmsCodeStore } from '../sms/SmsCodeStore';
import type { AccessTokenStore } from '../wechat/api/AccessTokenStore';
import type { PushDedupeStore } from '../wechat/PushDedupeStore';
import type { PushNonceStore } from '../wechat/PushNonceStore';
import type { ExpiringRecordStore } from '../oidc/ExpiringRecordStore';

/**
 * Every piece of short-lived shared state: in Redis for production, so any number of
 * instances share it (createRedisStores), or in this process for the embedded demo
 * (createMemoryStores). Both sets pass the same contract suites (test/store/).
 */
export interface Stores {
  dedupe: PushDedupeStore;
  /** The (timestamp, nonce) of recent pushes and their bodies: a seen pair carries no other body. */
  pushNonces: PushNonceStore;
  accessTokens: AccessTokenStore;
  sessions: H5SessionStore;
  portalSessions: PortalSessionStore;
  /** The demo's reference OpenID Connect relying party (/rp/). */
  relyingPartySessions: RelyingPartySessionStore;
  captcha: CaptchaStore;
  smsCodes: SmsCodeStore;
  rateLimiter: RateLimiter;
  /** Failed logins per typed identifier and client (LoginThrottle). */
  loginFailures: LoginFailureStore;
  loginTickets: LoginTicketStore;
  /** What loginTickets' transitions announce; the process's TicketChangeHub listens to it. */
  ticketChanges: TicketChangeFeed;
  /** The scenes of the pooled login QR codes and their leases. */
  qrScenes: QrSceneStore;
  oauthClaims: OAuthCallbackClaims;
  oauthTokens: WebOAuthTokenStore;
  /** 忘记密码 recoveries in progress, by their random id. */
  passwordResets: ExpiringRecordStore;
}
