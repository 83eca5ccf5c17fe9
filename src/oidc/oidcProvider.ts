import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Configuration, JWK, KoaContextWithOIDC } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type Provider from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { Middleware } from 'koa';
import type { AccountService } from '../accounts/AccountService';
import type { Clock } from '../clock/Clock';
import type { Logger } from '../logging/createLogger';
import { AccountLogout } from './AccountLogout';
import type { ExpiringRecordStore } from './ExpiringRecordStore';
import { OidcAdapter } from './OidcAdapter';
import { ACR, accountClaims, OIDC_SCOPES, PairwiseSubjects, SCOPE_CLAIMS } from './oidcClaims';
import { providerMetadata, readOidcClients } from './oidcClients';
import type { OidcRenderer } from './OidcRenderer';

export const OIDC_PATH = '/oidc';

/** The provider instance (node-oidc-provider): a Koa app, and the interaction and model APIs. */
export type OidcProvider = Provider;

/**
 * oidc-provider signs its cookies with its own keys (SESSION_SECRET), but mounted in this app it
 * runs on this app's context, whose cookies know no keys: its requests get cookies that do.
 */
export function providerCookies(provider: OidcProvider): Middleware {
  return (ctx, next) => {
    const Cookies = ctx.cookies.constructor as new (
      req: typeof ctx.req,
      res: typeof ctx.res,
      options: { keys: string[]; secure: boolean },
    ) => typeof ctx.cookies;
    ctx.cookies = new Cookies(ctx.req, ctx.res, { keys: provider.keys as string[], secure: ctx.request.secure });
    return next();
  };
}

/** Lifetimes (seconds). A code is short-lived and single use; a browser session ends with the working day. */
export const OIDC_TTL = {
  AuthorizationCode: 60,
  AccessToken: 600,
  IdToken: 600,
  Interaction: 600,
  Session: 8 * 3600,
  Grant: 8 * 3600,
  RefreshToken: 8 * 3600,
} as const;

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
  /** The provider's own pages (logout, errors) in the portal's style. */
  renderer: OidcRenderer;
  logger: Logger;
}

function signingKeys(jwksFile: string | null): JWK[] {
  if (jwksFile) return (JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: JWK[] }).keys;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return [{ ...(privateKey.export({ format: 'jwk' }) as JWK), kid: randomUUID(), use: 'sig', alg: 'RS256' }];
}

const originOf = (url: unknown): string | null => {
  try {
    return typeof url === 'string' ? new URL(url).origin : null;
  } catch {
    return null;
  }
};

/**
 * Every client is a site of the tax administration configured by its operators: the user is not
 * asked to consent; the grant covers the scopes asked for (oidc-provider already keeps a request
 * within the client's configured `scope`).
 */
async function grantWithoutConsent(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const client = oidc.client!;
  const session = oidc.session!;
  const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const grant =
    existing && existing.accountId === session.accountId
      ? existing
      : new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId! });
  const requested = typeof oidc.params?.scope === 'string' ? oidc.params.scope.split(' ') : [];
  grant.addOIDCScope(requested.filter((scope) => (OIDC_SCOPES as readonly string[]).includes(scope)));
  await grant.save();
  return grant;
}

/** node-oidc-provider (a Koa app) configured for our clients, keys, storage, accounts and pages. */
export async function createOidcProvider(
  options: OidcProviderOptions,
): Promise<{ provider: OidcProvider; logout: AccountLogout }> {
  // oidc-provider is an ES module: loaded with import(), which this CommonJS build keeps as is.
  const { default: ProviderClass } = await import('oidc-provider');
  const { store, clock, accounts, renderer } = options;
  const pairwise = new PairwiseSubjects(options.dataKey);
  const clients = readOidcClients(options.clientsFile);
  const backchannelUris = new Set(
    clients.flatMap((client) => (client.backchannel_logout_uri ? [new URL(client.backchannel_logout_uri).href] : [])),
  );
  const configuration: Configuration = {
    // oidc-provider refuses outgoing calls to private and loopback addresses (SSRF). A back-channel
    // logout URI is the operator's own configuration, and sites of the administration sit on its
    // intranet: those exact URIs are called wherever they are; every other call keeps the check.
    fetch: (url, init) => {
      const target = url instanceof URL ? url.href : typeof url === 'string' ? url : url.url;
      if (!backchannelUris.has(target)) return fetch(url, init);
      return fetch(url, { ...init, dispatcher: undefined });
    },
    adapter: (name: string) => new OidcAdapter(name, store, clock),
    clients: clients.map(providerMetadata),
    jwks: { keys: signingKeys(options.jwksFile) },
    cookies: { keys: [options.cookieSecret] },
    ttl: { ...OIDC_TTL },
    responseTypes: ['code'],
    // What the clients file offers: a secret (Basic or in the body), or an assertion signed with the
    // client's own private key, checked against the public keys the file lists for it. Without
    // client_secret_jwt, oidc-provider accepts asymmetric assertion algorithms only.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          const client = ctx.oidc.client;
          renderer.renderLogout(ctx, {
            form,
            clientName: client?.clientName ?? client?.clientId ?? null,
            // The confirm form redirects to the site's post-logout URI: the form-action must allow it.
            formTargets: [originOf(ctx.oidc.params?.post_logout_redirect_uri)].filter((o): o is string => !!o),
          });
        },
        postLogoutSuccessSource(ctx) {
          renderer.renderMessage(ctx, { title: '已退出登录', lines: ['您已安全退出。可以关闭本页面。'], status: 200 });
        },
      },
      userinfo: { enabled: true },
    },
    claims: {
      ...Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, claims]) => [scope, [...claims]])),
      // How and when the user logged in, in every ID token (oidc-provider otherwise releases them only when asked).
      openid: [...SCOPE_CLAIMS.openid, 'acr', 'amr', 'auth_time'],
      sid: null,
    },
    scopes: [...OIDC_SCOPES],
    acrValues: Object.values(ACR),
    subjectTypes: ['public', 'pairwise'],
    // The typings omit Client#sectorIdentifier (the redirect host, or the sector_identifier_uri's host).
    pairwiseIdentifier: (_ctx, accountId, client) =>
      pairwise.subjectFor((client as unknown as { sectorIdentifier: string }).sectorIdentifier, accountId),
    interactions: { url: (_ctx, interaction) => `${OIDC_PATH}/interaction/${interaction.uid}` },
    loadExistingGrant: grantWithoutConsent,
    // Standard OAuth errors: a redirect to the client when its redirect_uri is known and valid,
    // else this page (the error code, never a stack); never a 5xx for a bad request.
    renderError(ctx, out) {
      renderer.renderMessage(ctx, {
        title: '登录请求无效',
        lines: ['请返回原网站重新登录。', `错误代码：${out.error}`],
        status: ctx.status >= 400 ? ctx.status : 400,
      });
    },
    async findAccount(_ctx, sub) {
      const account = await accounts.findById(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: () => accountClaims(accounts, account, sub) };
    },
  };
  const provider = new ProviderClass(`${options.publicUrl}${OIDC_PATH}`, configuration);
  provider.proxy = options.trustProxy;
  // oidc-provider checks a client's metadata (its keys among them) when first asked for it: at start, here.
  for (const { client_id: clientId } of clients) {
    await provider.Client.find(clientId).catch((error: unknown) => {
      const reason = (error as { error_description?: string }).error_description ?? String(error);
      throw new Error(`OIDC_CLIENTS_FILE is invalid: client ${clientId}: ${reason}`);
    });
  }
  return { provider, logout: new AccountLogout(provider, store, pairwise, options.logger) };
}
