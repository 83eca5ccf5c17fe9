import { isHttpError } from 'http-errors';
import type { Middleware } from 'koa';
import type { H5Renderer } from './H5Renderer';

/**
 * Every failure under /h5 ends on a page a taxpayer can act on, never a stack or a bare status:
 * known refusals show their message; anything else (MySQL or Redis down) is a 503 "try later".
 */
export function h5ErrorPages(renderer: H5Renderer): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        renderer.render(
          ctx,
          'message',
          { title: '页面不存在', message: '您访问的页面不存在，请从"福建税务"公众号菜单进入。', icon: 'warn' },
          404,
        );
      }
    } catch (error) {
      if (isHttpError(error) && error.expose) {
        renderer.render(
          ctx,
          'message',
          { title: error.title ?? '无法完成操作', message: error.message, icon: 'warn' },
          error.status,
        );
        return;
      }
      ctx.state.logger.error({ err: error }, 'h5 request failed');
      renderer.render(
        ctx,
        'message',
        { title: '服务暂时不可用', message: '系统繁忙，请稍后再试。', icon: 'warn' },
        503,
      );
    }
  };
}
