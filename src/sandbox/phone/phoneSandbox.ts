import { randomInt } from 'node:crypto';
import path from 'node:path';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import compose from 'koa-compose';
import type { Clock } from '../../clock/Clock';
import type { Config } from '../../config/Config';
import { PushDriver } from '../PushDriver';
import type { SmsOutbox } from '../SmsOutbox';
import type { WeChatSimulator } from '../simulator/WeChatSimulator';
import { PHONE_API, phoneApiRoutes } from './phoneApiRoutes';
import { PhoneChatLog } from './PhoneChatLog';
import { PhoneMenu } from './PhoneMenu';
import { PhonePageRenderer } from './PhonePageRenderer';
import { staticFiles } from '../../http/staticFiles';
import { PHONE_ASSETS } from './PhonePageRenderer';
import { PhoneUserCookie } from './phoneUserCookie';
import { SimulatedFollowers } from './SimulatedFollowers';
import { SimulatedWeChatClient } from './SimulatedWeChatClient';

export const PHONE_PATH = '/sandbox/phone';

export interface PhoneSandboxOptions {
  config: Config;
  clock: Clock;
  simulator: WeChatSimulator;
  /** Where the app serves the simulator (its showqrcode images appear in 扫一扫). */
  simulatorPath: string;
  smsOutbox: SmsOutbox | null;
  projectRoot: string;
}

/**
 * `/sandbox/phone` (SANDBOX=1 only; app.ts mounts it then): a phone-sized page that plays a WeChat
 * user of the simulator — the chat with 福建税务, its menu, 扫一扫, H5 pages in an in-app browser and
 * the phone's SMS inbox — with the JSON API it calls. Every push goes through the app's real
 * /wechat, signed with the configured token and, when an EncodingAESKey is set, in safe mode.
 */
export function phoneSandbox(options: PhoneSandboxOptions): Middleware {
  const { config, clock, simulator } = options;
  const encodingAesKey = config.wechat.encodingAesKeys[0];
  const driver = new PushDriver({
    token: config.wechat.token,
    appId: config.wechat.appId,
    clock,
    ...(encodingAesKey === undefined ? { mode: 'plain' } : { mode: 'safe', encodingAesKey }),
  });
  const chat = new PhoneChatLog(clock);
  const client = new SimulatedWeChatClient({
    driver,
    endpoint: `${config.publicUrl}/wechat`,
    followers: new SimulatedFollowers(),
    chat,
    menuId: String(randomInt(100_000_000, 1_000_000_000)),
  });
  const menu = new PhoneMenu(options.projectRoot, config.publicUrl);
  const userCookie = new PhoneUserCookie(config.publicUrl.startsWith('https://'));
  const publicOrigin = new URL(config.publicUrl).origin;
  const renderer = new PhonePageRenderer(path.join(options.projectRoot, 'templates'));

  const page = new Router().get(PHONE_PATH, (ctx) => {
    renderer.render(ctx, 'phone', {
      api: PHONE_API,
      simulatorPath: options.simulatorPath,
      menu: menu.buttons,
      publicOrigin,
      publicPhoneUrl: `${config.publicUrl}${PHONE_PATH}`,
      safeMode: encodingAesKey !== undefined,
    });
  });
  const api = phoneApiRoutes({
    simulator,
    client,
    chat,
    menu,
    userCookie,
    smsOutbox: options.smsOutbox,
    clock,
    publicOrigin,
  });
  const stack = compose([
    // The sandbox is edited while it runs; a reload must pick the new files up.
    staticFiles({
      urlPrefix: PHONE_ASSETS,
      directory: path.join(options.projectRoot, 'static', 'sandbox'),
      cacheControl: 'no-cache',
    }),
    page.routes() as Middleware,
    page.allowedMethods() as Middleware,
    api.routes() as Middleware,
    api.allowedMethods() as Middleware,
  ]);
  return async (ctx, next) => {
    if (ctx.path === PHONE_PATH || ctx.path.startsWith(`${PHONE_PATH}/`)) await stack(ctx, next);
    else await next();
  };
}
