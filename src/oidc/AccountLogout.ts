import type { Logger } from '../logging/createLogger';
import type { ExpiringRecordStore } from './ExpiringRecordStore';
import type { PairwiseSubjects } from './oidcClaims';
import type { OidcProvider } from './oidcProvider';

/** What oidc-provider's Client offers beyond its typings: its sector, and the back-channel logout call. */
interface LoggingOutClient {
  clientId: string;
  subjectType?: string;
  sectorIdentifier: string;
  backchannelLogoutUri?: string;
  backchannelLogout(sub: string, sid: string | undefined): Promise<void>;
}

/** Where the provider's sessions of an account are listed (the adapter keeps the index). */
export const accountSessionsGroup = (accountId: string) => `account:${accountId}`;
export const accountSessionEntry = (sessionId: string) => `AccountSession:${sessionId}`;

/**
 * Ends every provider session of an account and tells each client that held one, through
 * OpenID Connect Back-Channel Logout (a signed logout token to its `backchannel_logout_uri`); the
 * grants of those sessions are revoked with their codes and tokens. Called when the account's WeChat
 * is unbound and when its password is reset or changed.
 */
export class AccountLogout {
  constructor(
    private readonly provider: OidcProvider,
    private readonly store: ExpiringRecordStore,
    private readonly pairwise: PairwiseSubjects,
    private readonly logger: Logger,
  ) {}

  /** Returns how many clients were told (a client that fails to answer is logged, not retried). */
  async logoutAccount(accountId: string): Promise<number> {
    let told = 0;
    for (const entryId of await this.store.groupMembers(accountSessionsGroup(accountId))) {
      const sessionId = (await this.store.get(entryId))?.payload.sessionId;
      const session = typeof sessionId === 'string' ? await this.provider.Session.find(sessionId) : undefined;
      if (session?.accountId !== accountId) continue;
      for (const [clientId, authorization] of Object.entries(session.authorizations ?? {})) {
        const client = (await this.provider.Client.find(clientId)) as unknown as LoggingOutClient | undefined;
        if (client?.backchannelLogoutUri) {
          const sub =
            client.subjectType === 'pairwise'
              ? this.pairwise.subjectFor(client.sectorIdentifier, accountId)
              : accountId;
          try {
            await client.backchannelLogout(sub, authorization.sid);
            told += 1;
          } catch (error) {
            this.logger.warn({ err: error, clientId }, 'oidc: back-channel logout not delivered');
          }
        }
        if (authorization.grantId) await this.store.destroyGroup(authorization.grantId);
      }
      await session.destroy();
    }
    await this.store.destroyGroup(accountSessionsGroup(accountId));
    return told;
  }
}
