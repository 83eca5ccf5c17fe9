import Router from '@koa/router';
import createHttpError from 'http-errors';
import type { AccountService } from '../accounts/AccountService';
import { clientContext } from '../http/clientContext';
import type { Logger } from '../logging/createLogger';
import { maskOpenid } from '../security/masking';
import type { PortalKey } from '../security/PortalKey';
import { requirePortalKey } from '../security/requirePortalKey';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import { sendCustomerNotice } from '../wechat/sendCustomerNotice';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import type { BindingService } from './BindingService';
import type { BindingStore } from './BindingStore';

export interface BindingApiDependencies {
  accounts: AccountService;
  bindings: BindingStore;
  bindingService: BindingService;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  logger: Logger;
  portalKeys: PortalKey[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** 微信解绑, the portal's side: list an account's WeChat bindings and remove one. */
export function bindingApiRoutes(deps: BindingApiDependencies): Router {
  const router = new Router({ prefix: '/api/accounts/:accountId/wechat-bindings' });
  router.use(requirePortalKey(deps.portalKeys, 'bindings'));

  const accountOf = async (accountId: string | undefined) => {
    const account = accountId && UUID.test(accountId) ? await deps.accounts.findById(accountId) : null;
    if (!account) throw createHttpError(404, 'no such account', { code: 'account_not_found' });
    return account;
  };

  router.get('/', async (ctx) => {
    const account = await accountOf(ctx.params.accountId);
    const bindings = await deps.bindings.listForAccount(account.id);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      bindings: bindings.map((b) => ({
        id: b.id,
        nickname: b.nickname,
        openidMasked: maskOpenid(b.openid),
        subscribed: b.subscribed,
        boundAt: b.boundAt.toISOString(),
      })),
    };
  });

  router.delete('/:bindingId', async (ctx) => {
    const account = await accountOf(ctx.params.accountId);
    const bindingId = ctx.params.bindingId!;
    const removed = UUID.test(bindingId)
      ? await deps.bindingService.unbind(account.id, bindingId, {
          ...clientContext(ctx),
          portal: ctx.state.portalKey!.name,
        })
      : null;
    if (!removed) throw createHttpError(404, 'no such binding on this account', { code: 'binding_not_found' });
    const { loginName } = deps.accounts.toPublic(account);
    sendCustomerNotice(deps, removed.openid, deps.templates.render('unbound', { loginName }), 'unbind');
    ctx.status = 204;
  });

  return router;
}
