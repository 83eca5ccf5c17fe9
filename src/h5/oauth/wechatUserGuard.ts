import createHttpError from 'http-errors';
import type { Middleware } from 'koa';
import type { H5Renderer } from '../H5Renderer';
import type { OAuthStateCookie } from './OAuthStateCookie';
import type { WebOAuth } from './WebOAuth';

export interface WechatUserGuardOptions {
  oauth: WebOAuth;
  stateCookie: OAuthStateCookie;
  renderer: H5Renderer;
  callbackUrl: string;
  /** Outside the sandbox only WeChat's in-app browser may open the pages. */
  requireWechatBrowser: boolean;
}

/**
 * Every /h5 page needs to know which WeChat user opens it: without an openid in the session a GET
 * is sent through WeChat's silent OAuth (snsapi_base) with a `state` kept in the browser's signed
 * OAuth state cookie (no session is stored for a visitor not yet identified); a POST without one
 * means the session expired.
 */
export function wechatUserGuard(options: WechatUserGuardOptions): Middleware {
  return async (ctx, next) => {
    if (options.requireWechatBrowser && !/MicroMessenger/i.test(ctx.get('user-agent'))) {
      options.renderer.render(
        ctx,
        'message',
        {
          title: '请在微信中打开',
          message: '请在微信中关注"福建税务"公众号，从"微办税"菜单打开本页面。',
          icon: 'info',
        },
        403,
      );
      return;
    }
    const session = ctx.state.session;
    if (session.data?.openid) {
      await next();
      return;
    }
    if (ctx.method !== 'GET') {
      throw createHttpError(401, '页面已过期，请从"福建税务"公众号菜单重新进入。', { title: '页面已过期' });
    }
    const trip = options.stateCookie.start(ctx, ctx.originalUrl);
    ctx.redirect(options.oauth.authorizeUrl(options.callbackUrl, trip.state));
  };
}
