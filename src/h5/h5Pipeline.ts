import path from 'node:path';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import compose from 'koa-compose';
import createHttpError from 'http-errors';
import type { CaptchaService } from '../captcha/CaptchaService';
import type { Clock } from '../clock/Clock';
import { captchaRoute } from './captchaRoute';
import { csrfProtection } from '../http/csrfProtection';
import type { H5Renderer } from './H5Renderer';
import { h5ErrorPages } from './h5ErrorPages';
import { oauthCallback } from './oauth/oauthCallback';
import { OAuthStateCookie } from './oauth/OAuthStateCookie';
import type { OAuthCallbackClaims } from './oauth/OAuthCallbackClaims';
import type { WebOAuth } from './oauth/WebOAuth';
import { wechatUserGuard } from './oauth/wechatUserGuard';
import { h5Session, type H5SessionStore } from './session/h5Session';
import { staticFiles } from '../http/staticFiles';

export interface H5PipelineOptions {
  publicUrl: string;
  /** Signs the OAuth state cookie of visitors not yet identified. */
  sessionSecret: string;
  sandbox: boolean;
  projectRoot: string;
  clock: Clock;
  renderer: H5Renderer;
  sessions: H5SessionStore;
  webOAuth: WebOAuth;
  oauthClaims: OAuthCallbackClaims;
  captcha: CaptchaService;
  /** The capabilities' pages (实名绑定, 实名注册, the login confirm page…), all behind the guard. */
  pages: Router[];
}

/**
 * Everything under /h5: static assets, friendly error pages, the session, form parsing, CSRF,
 * the OAuth callback, then the WeChat-user guard in front of every page.
 */
export function h5Pipeline(options: H5PipelineOptions): Middleware {
  const formBody = bodyParser({
    enableTypes: ['form'],
    formLimit: '16kb',
    onError: () => {
      throw createHttpError(400, '提交的内容无法识别，请返回重试。');
    },
  });
  const secure = options.publicUrl.startsWith('https://');
  const stateCookie = new OAuthStateCookie({ secret: options.sessionSecret, clock: options.clock, secure });
  const open = new Router().get(
    '/h5/oauth/callback',
    oauthCallback(options.webOAuth, options.oauthClaims, stateCookie),
  );
  const captcha = new Router().get('/h5/captcha', captchaRoute(options.captcha, options.sandbox));
  const routed = (router: Router) => [router.routes() as Middleware, router.allowedMethods() as Middleware];
  const middlewares: Middleware[] = [
    // WeUI's stylesheet comes from the weui package, served locally.
    staticFiles({
      urlPrefix: '/h5/static',
      directory: path.join(options.projectRoot, 'static', 'h5'),
      extra: { 'weui.min.css': require.resolve('weui/dist/style/weui.min.css') },
      cacheControl: 'public, max-age=3600',
    }),
    h5ErrorPages(options.renderer),
    h5Session({ store: options.sessions, clock: options.clock, secure }),
    formBody as Middleware,
    csrfProtection({
      publicOrigin: new URL(options.publicUrl).origin,
      sessionToken: (ctx) => ctx.state.session.data?.csrfToken,
      message: '页面已过期，请返回重新操作。',
    }),
    ...routed(open),
    wechatUserGuard({
      oauth: options.webOAuth,
      stateCookie,
      renderer: options.renderer,
      callbackUrl: `${options.publicUrl}/h5/oauth/callback`,
      requireWechatBrowser: !options.sandbox,
    }),
    ...routed(captcha),
    ...options.pages.flatMap(routed),
  ];
  const stack = compose(middlewares);
  return async (ctx, next) => {
    if (ctx.path.startsWith('/h5/')) await stack(ctx, next);
    else await next();
  };
}
