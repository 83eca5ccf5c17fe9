import Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';
import { SIMULATOR_PATH, type Dependencies } from './dependencies';
import { healthRoutes } from './health/healthRoutes';
import { errorHandler } from './http/errorHandler';
import { requestContext } from './http/requestContext';
import { EventRouter } from './wechat/EventRouter';
import { wechatEndpoint } from './wechat/wechatEndpoint';

export interface AppOptions {
  /** Passed to the WeChat endpoint; tests shorten it. */
  replyDeadlineMs?: number;
}

/** Wires the capabilities onto one Koa app; holds no logic of its own. */
export function createApp(deps: Dependencies, options: AppOptions = {}): Koa {
  const { config } = deps;
  const app = new Koa({ proxy: config.trustProxy });
  app.use(requestContext(deps.logger));
  app.use(errorHandler(deps.logger));

  if (deps.simulator) app.use(mount(SIMULATOR_PATH, deps.simulator.app));

  const router = new Router();
  router.use(healthRoutes(deps).routes());
  const wechat = wechatEndpoint({
    token: config.wechat.token,
    appId: config.wechat.appId,
    ciphers: deps.ciphers,
    maxSkewSeconds: config.wechat.maxSkewSeconds,
    clock: deps.clock,
    router: new EventRouter({ templates: deps.templates, scenes: deps.scenes, bindings: deps.bindings, logger: deps.logger }),
    dedupe: deps.dedupe,
    templates: deps.templates,
    ...(options.replyDeadlineMs !== undefined ? { replyDeadlineMs: options.replyDeadlineMs } : {}),
  });
  router.all('/wechat', wechat);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
