import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Configuration, JWK } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { AccountService } from '../accounts/AccountService';
import type { Clock } from '../clock/Clock';
import type { ExpiringRecordStore } from './ExpiringRecordStore';
import { OidcAdapter } from './OidcAdapter';
import { ACR, accountClaims, OIDC_SCOPES, PairwiseSubjects, SCOPE_CLAIMS } from './oidcClaims';
import { providerMetadata, readOidcClients } from './oidcClients';

export const OIDC_PATH = '/oidc';

export interface OidcProviderOptions {
  publicUrl: string;
  clientsFile: string;
  /** Signing keys (a JWKS with private keys); null: a key generated at start (demo and tests only). */
  jwksFile: string | null;
  cookieSecret: string;
  /** DATA_KEY: the pairwise subjects are derived from it, so they outlive any signing key. */
  dataKey: Buffer;
  trustProxy: boolean;
  store: ExpiringRecordStore;
  accounts: AccountService;
  clock: Clock;
}

function signingKeys(jwksFile: string | null): JWK[] {
  if (jwksFile) return (JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: JWK[] }).keys;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return [{ ...(privateKey.export({ format: 'jwk' }) as JWK), kid: randomUUID(), use: 'sig', alg: 'RS256' }];
}

/** node-oidc-provider (a Koa app) configured for our clients, keys, storage and accounts. */
export async function createOidcProvider(options: OidcProviderOptions): Promise<Koa> {
  // oidc-provider is an ES module: loaded with import(), which this CommonJS build keeps as is.
  const { default: Provider } = await import('oidc-provider');
  const { store, clock, accounts } = options;
  const pairwise = new PairwiseSubjects(options.dataKey);
  const configuration: Configuration = {
    adapter: (name: string) => new OidcAdapter(name, store, clock),
    clients: readOidcClients(options.clientsFile).map(providerMetadata),
    jwks: { keys: signingKeys(options.jwksFile) },
    cookies: { keys: [options.cookieSecret] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
    },
    claims: Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, claims]) => [scope, [...claims]])),
    scopes: [...OIDC_SCOPES],
    acrValues: Object.values(ACR),
    subjectTypes: ['public', 'pairwise'],
    // The typings omit Client#sectorIdentifier (the redirect host, or the sector_identifier_uri's host).
    pairwiseIdentifier: (_ctx, accountId, client) =>
      pairwise.subjectFor((client as unknown as { sectorIdentifier: string }).sectorIdentifier, accountId),
    interactions: { url: (_ctx, interaction) => `${OIDC_PATH}/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const account = await accounts.findById(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: () => accountClaims(accounts, account, sub) };
    },
  };
  const provider = new Provider(`${options.publicUrl}${OIDC_PATH}`, configuration);
  provider.proxy = options.trustProxy;
  return provider;
}
