import path from 'node:path';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import createHttpError, { isHttpError } from 'http-errors';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import type { Configuration } from 'openid-client' with { 'resolution-mode': 'import' };
import type { Clock } from '../clock/Clock';
import type { Config } from '../config/Config';
import { readOidcClients } from '../oidc/oidcClients';
import { OIDC_PATH } from '../oidc/oidcProvider';
import type { Stores } from '../store/Stores';
import { csrfProtection } from '../http/csrfProtection';
import { PageRenderer } from '../http/PageRenderer';
import { staticFiles } from '../http/staticFiles';
import { strictPageHeaders } from '../http/strictPageHeaders';
import { relyingPartySession, rpSessionFor, type RelyingPartySessionStore } from './relyingPartySession';

export const RELYING_PARTY_PATH = '/rp';
const ASSETS = `${RELYING_PARTY_PATH}/static`;

/** Everything a site needs to log in through the provider: configuration, no code of ours. */
export interface RelyingPartySettings {
  /** The provider's issuer: `${PUBLIC_URL}/oidc`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** This site's base URL; its callback is `${siteUrl}/rp/callback`. */
  siteUrl: string;
  /** The scopes it asks for (within what its client entry allows). */
  scope: string;
}

export interface ReferenceRelyingPartyOptions extends RelyingPartySettings {
  sessions: RelyingPartySessionStore;
  clock: Clock;
  projectRoot: string;
}

class RelyingPartyRenderer extends PageRenderer {
  constructor(
    templatesDir: string,
    private readonly issuerOrigin: string,
  ) {
    super(templatesDir, 'rp');
  }

  render(ctx: Context, template: string, variables: Record<string, unknown>, status = 200): void {
    const session = ctx.state.rpSession?.data ?? null;
    this.respond(
      ctx,
      template,
      { assets: ASSETS, csrfToken: session?.csrfToken ?? '', ...variables },
      status,
      // 退出 posts here and is redirected to the provider's end_session endpoint.
      strictPageHeaders({ img: "'self'", connect: "'self'", formTargets: [this.issuerOrigin] }),
    );
  }
}

/**
 * A second reference site in the demo (发票服务平台, `/rp/`, PORTAL_DEMO=1): it logs in only through
 * OpenID Connect with `openid-client` (discovery, authorization code with PKCE S256, state and
 * nonce, the ID token checked, userinfo, RP-initiated logout). Beside the reference portal, which
 * uses the JSON API, it shows the other way in: configuration only.
 */
export function referenceRelyingParty(options: ReferenceRelyingPartyOptions): Middleware {
  const renderer = new RelyingPartyRenderer(
    path.join(options.projectRoot, 'templates'),
    new URL(options.issuer).origin,
  );
  const redirectUri = `${options.siteUrl}${RELYING_PARTY_PATH}/callback`;
  const home = `${options.siteUrl}${RELYING_PARTY_PATH}/`;
  // openid-client is an ES module: loaded with import(), which this CommonJS build keeps as is.
  const client = import('openid-client');
  // Discovered on first use (the provider is this app, not yet listening while it is built); a failure is retried next time.
  let discovered: Promise<Configuration> | null = null;
  const configuration = async (): Promise<Configuration> => {
    const oc = await client;
    discovered ??= oc
      .discovery(new URL(options.issuer), options.clientId, options.clientSecret, undefined, {
        ...(options.issuer.startsWith('http://') ? { execute: [oc.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        discovered = null;
        throw error;
      });
    return discovered;
  };

  const router = new Router({ prefix: RELYING_PARTY_PATH });

  router.get('/', (ctx) => {
    const user = ctx.state.rpSession.data?.user ?? null;
    renderer.render(ctx, 'home', {
      title: '发票服务平台',
      user,
      claims: user ? JSON.stringify(user.claims, null, 2) : '',
    });
  });

  router.get('/login', async (ctx) => {
    const oc = await client;
    const config = await configuration();
    const pending = { verifier: oc.randomPKCECodeVerifier(), state: oc.randomState(), nonce: oc.randomNonce() };
    rpSessionFor(ctx).pending = pending;
    ctx.redirect(
      oc
        .buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: options.scope,
          code_challenge: await oc.calculatePKCECodeChallenge(pending.verifier),
          code_challenge_method: 'S256',
          state: pending.state,
          nonce: pending.nonce,
        })
        .toString(),
    );
  });

  router.get('/callback', async (ctx) => {
    const oc = await client;
    const session = rpSessionFor(ctx);
    const pending = session.pending;
    delete session.pending;
    if (!pending) throw createHttpError(400, '登录已过期，请重新登录。', { title: '登录未完成' });
    const config = await configuration();
    let tokens;
    try {
      tokens = await oc.authorizationCodeGrant(config, new URL(ctx.originalUrl, options.siteUrl), {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      ctx.state.logger.warn({ err: error }, 'reference relying party: login refused');
      throw createHttpError(400, '登录未完成，请重新登录。', { title: '登录未完成' });
    }
    const idToken = tokens.claims()!;
    const userinfo = await oc.fetchUserInfo(config, tokens.access_token, idToken.sub);
    session.user = {
      sub: idToken.sub,
      ...(typeof userinfo.name === 'string' ? { name: userinfo.name } : {}),
      ...(typeof idToken.acr === 'string' ? { acr: idToken.acr } : {}),
      ...(Array.isArray(idToken.amr) ? { amr: idToken.amr.map(String) } : {}),
      ...(typeof idToken.auth_time === 'number' ? { authTime: idToken.auth_time } : {}),
      claims: { ...userinfo },
    };
    session.idToken = tokens.id_token!;
    await ctx.state.rpSession.regenerate();
    ctx.redirect(home);
  });

  router.post('/logout', async (ctx) => {
    const oc = await client;
    const idToken = ctx.state.rpSession.data?.idToken;
    await ctx.state.rpSession.destroy();
    const config = await configuration();
    ctx.status = 303;
    ctx.redirect(
      oc
        .buildEndSessionUrl(config, {
          post_logout_redirect_uri: home,
          ...(idToken ? { id_token_hint: idToken } : {}),
        })
        .toString(),
    );
  });

  const errorPages: Middleware = async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined)
        renderer.render(ctx, 'message', { title: '页面不存在', message: '您访问的页面不存在。' }, 404);
    } catch (error) {
      if (isHttpError(error) && error.expose) {
        const title = (error as { title?: string }).title ?? '无法完成操作';
        renderer.render(ctx, 'message', { title, message: error.message }, error.status);
        return;
      }
      ctx.state.logger.error({ err: error }, 'reference relying party failed');
      renderer.render(ctx, 'message', { title: '服务暂时不可用', message: '系统繁忙，请稍后再试。' }, 503);
    }
  };

  const stack = compose([
    staticFiles({
      urlPrefix: ASSETS,
      directory: path.join(options.projectRoot, 'static', 'rp'),
      cacheControl: 'public, max-age=3600',
    }),
    errorPages,
    relyingPartySession({
      store: options.sessions,
      clock: options.clock,
      secure: options.siteUrl.startsWith('https://'),
    }),
    bodyParser({ enableTypes: ['form'], formLimit: '4kb' }) as Middleware,
    csrfProtection({
      publicOrigin: new URL(options.siteUrl).origin,
      sessionToken: (ctx) => ctx.state.rpSession.data?.csrfToken,
      message: '页面已过期或请求来源无效，请返回重新操作。',
    }),
    router.routes() as Middleware,
    router.allowedMethods() as Middleware,
  ]);
  const nothingFurther = () => Promise.resolve();

  return async (ctx, next) => {
    if (ctx.path === RELYING_PARTY_PATH) {
      ctx.status = 301;
      ctx.redirect(home);
    } else if (ctx.path.startsWith(`${RELYING_PARTY_PATH}/`)) await stack(ctx, nothingFurther);
    else await next();
  };
}

/**
 * The relying party as app.ts mounts it with PORTAL_DEMO=1: the client of OIDC_CLIENTS_FILE whose
 * redirect URI is `${PUBLIC_URL}/rp/callback` (the demo writes one); none, no site.
 */
export function referenceRelyingPartyFor(deps: {
  config: Config;
  clock: Clock;
  stores: Pick<Stores, 'relyingPartySessions'>;
  projectRoot: string;
}): Middleware | null {
  const { config } = deps;
  if (!config.oidc) return null;
  const callback = `${config.publicUrl}${RELYING_PARTY_PATH}/callback`;
  const entry = readOidcClients(config.oidc.clientsFile).find((client) => client.redirect_uris.includes(callback));
  // The reference site authenticates with a client secret (the demo writes one).
  if (!entry?.client_secret) return null;
  return referenceRelyingParty({
    issuer: `${config.publicUrl}${OIDC_PATH}`,
    clientId: entry.client_id,
    clientSecret: entry.client_secret,
    siteUrl: config.publicUrl,
    scope: entry.scope ?? 'openid',
    sessions: deps.stores.relyingPartySessions,
    clock: deps.clock,
    projectRoot: deps.projectRoot,
  });
}
