import Router from '@koa/router';
import type { Context } from 'koa';
import { formatShanghaiTime } from '../clock/shanghaiTime';
import type { H5Renderer } from '../h5/H5Renderer';
import { sessionOf } from '../h5/session/h5Session';
import { clientContext } from '../http/clientContext';
import { describeRegion, inDifferentPlaces, placeOf } from '../region/IpRegion';
import type { IpRegionLookup } from '../region/IpRegionLookup';
import { maskName } from '../security/masking';
import type { LoginService } from './LoginService';

/**
 * Where the PC that asks is, and where this phone is now (the confirm page's own request): a relayed
 * QR code (QRLJacking) puts the asking PC somewhere else, and the taxpayer is told before choosing.
 */
function loginOrigin(regions: IpRegionLookup, computerIp: string, phoneIp: string) {
  const computer = regions.regionOf(computerIp);
  const phone = regions.regionOf(phoneIp);
  return {
    computer: describeRegion(computer),
    phone: describeRegion(phone),
    mismatch: inDifferentPlaces(computer, phone) ? { computer: placeOf(computer), phone: placeOf(phone) } : null,
  };
}

const tokenOf = (value: unknown): string | null =>
  typeof value === 'string' && /^[0-9a-f]{48}$/.test(value) ? value : null;

/**
 * `/h5/login/confirm?c=<confirmToken>`: only the WeChat that scanned sees the request (masked
 * account, the PC's IP, region, browser and time, a warning) and answers 确定登录 or 取消, by POST.
 */
export function confirmRoutes(login: LoginService, renderer: H5Renderer, regions: IpRegionLookup): Router {
  const router = new Router();

  const result = (ctx: Context, icon: string, title: string, lines: string[], status = 200) =>
    renderer.render(ctx, 'login-result', { icon, title, lines }, status);

  const show = async (ctx: Context, token: string | null) => {
    const found = token ? await login.ticketForConfirmation(token) : null;
    if (!found) return result(ctx, 'warn', '二维码已失效', ['请刷新电脑网页上的二维码后重新扫描。'], 404);
    const { ticket, status, account } = found;
    // Someone else's link: say nothing about that login.
    if (ticket.openid !== sessionOf(ctx).openid)
      return result(ctx, 'warn', '无法确认', ['只有扫描该二维码的微信可以确认这次登录。'], 403);
    if (status === 'expired') return result(ctx, 'warn', '二维码已过期', ['请刷新电脑网页上的二维码后重新扫描。'], 410);
    if (status === 'confirmed' || status === 'redeemed')
      return result(ctx, 'success', '已确认登录', ['请回到电脑继续办理业务。']);
    if (status === 'cancelled') return result(ctx, 'info', '已取消登录', ['本次登录已取消，电脑不会登录您的账号。']);
    return renderer.render(ctx, 'login-confirm', {
      token: ticket.confirmToken,
      loginName: account?.loginName ?? '',
      realName: maskName(account?.realName ?? ''),
      portalName: ticket.portalDisplayName,
      clientIp: ticket.clientIp || '未知',
      browser: ticket.browser,
      requestedAt: formatShanghaiTime(ticket.createdAt),
      origin: loginOrigin(regions, ticket.clientIp, ctx.ip),
    });
  };

  router.get('/h5/login/confirm', async (ctx) => show(ctx, tokenOf(ctx.query.c)));

  for (const decision of ['confirm', 'cancel'] as const) {
    router.post(`/h5/login/${decision}`, async (ctx) => {
      const token = tokenOf((ctx.request.body as Record<string, unknown> | undefined)?.c);
      if (!token) return show(ctx, null);
      const outcome = await login[decision](token, sessionOf(ctx).openid!, clientContext(ctx));
      if (outcome.result === 'unbound')
        return result(ctx, 'warn', '无法确认登录', ['该微信已解除与账号的绑定，本次登录已取消。'], 403);
      if (outcome.result === 'done') {
        return decision === 'confirm'
          ? result(ctx, 'success', '登录成功', ['您已确认在电脑上登录福建省网上税务局，请回到电脑继续办理业务。'])
          : result(ctx, 'info', '已取消登录', ['本次登录已取消，电脑不会登录您的账号。']);
      }
      // Raced with expiry, the other button, or another device: show where the ticket stands now.
      return show(ctx, token);
    });
  }
  return router;
}
