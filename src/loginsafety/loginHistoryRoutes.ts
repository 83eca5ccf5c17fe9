import Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountService } from '../accounts/AccountService';
import type { BindingService } from '../binding/BindingService';
import type { BindingStore } from '../binding/BindingStore';
import type { H5Renderer } from '../h5/H5Renderer';
import { sessionOf } from '../h5/session/h5Session';
import { clientContext } from '../http/clientContext';
import type { Logger } from '../logging/createLogger';
import { maskOpenid } from '../security/masking';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import { sendCustomerNotice } from '../wechat/sendCustomerNotice';
import type { LoginHistory } from './LoginHistory';

export interface LoginHistoryRoutesDependencies {
  renderer: H5Renderer;
  history: LoginHistory;
  accounts: AccountService;
  bindings: BindingStore;
  bindingService: BindingService;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  logger: Logger;
}

/**
 * 登录记录 (/h5/logins, behind OAuth): the latest logins and binding changes of the account this
 * WeChat is bound to; 不是我本人 (/h5/logins/not-me) says what to do and offers to unbind this
 * WeChat (a POST with the CSRF token). A WeChat bound to no account sees only that.
 */
export function loginHistoryRoutes(deps: LoginHistoryRoutesDependencies): Router {
  const router = new Router();
  const { renderer, bindings } = deps;

  /** The binding of the WeChat on this page, or null after telling it it has none. */
  const boundOrSay = async (ctx: Context) => {
    const binding = await bindings.findByOpenid(sessionOf(ctx).openid!);
    if (!binding) renderer.render(ctx, 'logins-not-bound', {});
    return binding;
  };

  router.get('/h5/logins', async (ctx) => {
    const binding = await boundOrSay(ctx);
    if (!binding) return;
    const account = await deps.accounts.findById(binding.accountId);
    renderer.render(ctx, 'logins', {
      account: account ? deps.accounts.toPublic(account) : null,
      records: await deps.history.recent(binding.accountId, binding.openid),
    });
  });

  router.get('/h5/logins/not-me', async (ctx) => {
    const binding = await boundOrSay(ctx);
    if (!binding) return;
    renderer.render(ctx, 'logins-not-me', { wechat: maskOpenid(binding.openid) });
  });

  router.post('/h5/logins/unbind', async (ctx) => {
    const binding = await boundOrSay(ctx);
    if (!binding) return;
    const removed = await deps.bindingService.unbind(binding.accountId, binding.id, clientContext(ctx));
    // Unbound meanwhile (by the portal, or another tab): the outcome the taxpayer asked for stands.
    if (removed) {
      const account = await deps.accounts.findById(binding.accountId);
      const loginName = account ? deps.accounts.toPublic(account).loginName : '';
      sendCustomerNotice(deps, removed.openid, deps.templates.render('unbound', { loginName }), 'unbind');
    }
    renderer.render(ctx, 'logins-unbound', {});
  });

  return router;
}
