import path from 'node:path';
import { bodyParser } from '@koa/bodyparser';
import createHttpError, { isHttpError } from 'http-errors';
import type { Middleware } from 'koa';
import compose from 'koa-compose';
import type { CaptchaService } from '../captcha/CaptchaService';
import type { Clock } from '../clock/Clock';
import type { Config } from '../config/Config';
import type { PortalScope } from '../security/PortalKey';
import { FormAttemptLimiter } from '../security/FormAttemptLimiter';
import type { Stores } from '../store/Stores';
import { PortalApiClient, PortalApiError } from './PortalApiClient';
import { csrfProtection } from '../http/csrfProtection';
import { PortalRenderer } from './PortalRenderer';
import { portalRoutes } from './portalRoutes';
import { portalSession, type PortalSessionStore } from './portalSession';
import { staticFiles } from '../http/staticFiles';
import { PORTAL_ASSETS } from './PortalRenderer';

export interface ReferencePortalOptions {
  /** Where the portal API is (PUBLIC_URL); the portal calls it over HTTP like any external portal. */
  apiBase: string;
  /** The portal's own key (the first of PORTAL_API_KEYS with the scopes it uses). */
  apiKey: string;
  /** PUBLIC_URL: its origin is the portal's, for the CSRF Origin check and the cookie's Secure flag. */
  publicUrl: string;
  sandbox: boolean;
  projectRoot: string;
  clock: Clock;
  /** The image captcha of 实名用户登录 (the same service as the H5 forms, in a portal scope). */
  captcha: CaptchaService;
  /** Caps 实名用户登录 tries per browser session and per IP. */
  attempts: FormAttemptLimiter;
  sessions: PortalSessionStore;
}

/**
 * The reference portal at /portal/ (PORTAL_DEMO=1): a desktop site of 福建省网上税务局 that shows
 * how a portal uses the public API — 微信扫码登录 and 实名用户登录, 个人信息管理, 设置 → 微信解绑.
 */
export function referencePortal(options: ReferencePortalOptions): Middleware {
  const api = new PortalApiClient({ baseUrl: options.apiBase, apiKey: options.apiKey });
  const renderer = new PortalRenderer(path.join(options.projectRoot, 'templates'), { apiOrigin: api.origin });
  const routes = portalRoutes({
    api,
    renderer,
    captcha: options.captcha,
    clock: options.clock,
    attempts: options.attempts,
    sandbox: options.sandbox,
  });
  const formBody = bodyParser({
    enableTypes: ['form'],
    formLimit: '16kb',
    onError: () => {
      throw createHttpError(400, '提交的内容无法识别，请返回重试。');
    },
  });

  /** Every failure ends on a page of the portal, never a stack or a bare status. */
  const errorPages: Middleware = async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        renderer.render(
          ctx,
          'message',
          { title: '页面不存在', heading: '页面不存在', message: '您访问的页面不存在或已被移除。' },
          404,
        );
      } else if (ctx.status === 405 && ctx.method !== 'OPTIONS') {
        renderer.render(
          ctx,
          'message',
          { title: '请求无效', heading: '请求无效', message: '请从页面上的按钮进行操作。' },
          405,
        );
      }
    } catch (error) {
      if (isHttpError(error) && error.expose) {
        renderer.render(
          ctx,
          'message',
          { title: error.title ?? '无法完成操作', heading: error.title ?? '无法完成操作', message: error.message },
          error.status,
        );
        return;
      }
      if (error instanceof PortalApiError && error.status < 500) {
        ctx.state.logger.warn({ err: error }, 'portal: API refused');
        renderer.render(
          ctx,
          'message',
          { title: '无法完成操作', heading: '无法完成操作', message: '请求未能完成，请返回重新操作。' },
          400,
        );
        return;
      }
      ctx.state.logger.error({ err: error }, 'portal request failed');
      renderer.render(
        ctx,
        'message',
        { title: '服务暂时不可用', heading: '服务暂时不可用', message: '系统繁忙，请稍后再试。' },
        503,
      );
    }
  };

  const stack = compose([
    staticFiles({
      urlPrefix: PORTAL_ASSETS,
      directory: path.join(options.projectRoot, 'static', 'portal'),
      // The login box's stylesheet, shared with the OpenID Connect login page (which serves it too).
      extra: { 'login.css': path.join(options.projectRoot, 'static', 'login', 'login.css') },
      cacheControl: 'public, max-age=3600',
    }),
    errorPages,
    portalSession({ store: options.sessions, clock: options.clock, secure: options.publicUrl.startsWith('https://') }),
    formBody as Middleware,
    csrfProtection({
      publicOrigin: new URL(options.publicUrl).origin,
      sessionToken: (ctx) => ctx.state.portalSession.data?.csrfToken,
      message: '页面已过期或请求来源无效，请返回重新操作。',
    }),
    routes.routes() as Middleware,
    routes.allowedMethods() as Middleware,
  ]);

  return async (ctx, next) => {
    if (ctx.path === '/portal') {
      ctx.status = 301;
      ctx.redirect('/portal/');
      return;
    }
    // Everything under /portal/ is the portal's: nothing further down the app sees it.
    if (ctx.path.startsWith('/portal/')) await stack(ctx, () => Promise.resolve());
    else await next();
  };
}

/** What the reference portal calls: tickets, 微信解绑, 实名用户登录, 修改密码 and 忘记密码. */
const REFERENCE_PORTAL_SCOPES: readonly PortalScope[] = ['login', 'bindings', 'authenticate', 'password'];

/**
 * The portal as app.ts mounts it when PORTAL_DEMO=1: its API is PUBLIC_URL, its key the first one
 * configured with the scopes it uses, its sessions in the stores (Redis, or this process with REDIS_URL=memory).
 */
export function referencePortalFor(
  deps: {
    config: Config;
    clock: Clock;
    captcha: CaptchaService;
    stores: Pick<Stores, 'portalSessions' | 'rateLimiter'>;
    projectRoot: string;
  },
  sessions: PortalSessionStore = deps.stores.portalSessions,
): Middleware {
  const { config } = deps;
  const key = config.portal.keys.find((candidate) => REFERENCE_PORTAL_SCOPES.every((s) => candidate.scopes.has(s)));
  if (!key)
    throw new Error(
      `PORTAL_DEMO=1 needs a key in PORTAL_API_KEYS with the scopes ${REFERENCE_PORTAL_SCOPES.join(', ')} for the reference portal`,
    );
  return referencePortal({
    apiBase: config.publicUrl,
    apiKey: key.secret,
    publicUrl: config.publicUrl,
    sandbox: config.sandbox,
    projectRoot: deps.projectRoot,
    clock: deps.clock,
    captcha: deps.captcha,
    attempts: new FormAttemptLimiter(deps.stores.rateLimiter, config.dataKey),
    sessions,
  });
}
