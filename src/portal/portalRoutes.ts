import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { formatShanghaiTime } from '../clock/shanghaiTime';
import { readPasswordLoginForm, type PasswordLoginErrors } from '../http/passwordLoginForm';
import type { CaptchaService } from '../captcha/CaptchaService';
import { sendCaptchaImage } from '../captcha/sendCaptchaImage';
import type { Clock } from '../clock/Clock';
import { retryAfterText, type FormAttemptLimiter } from '../security/FormAttemptLimiter';
import { QR_MESSAGES, qrState } from './loginStatus';
import {
  PortalApiError,
  PortalApiUnavailableError,
  type PortalAccount,
  type PortalApiClient,
  type TicketStatus,
} from './PortalApiClient';
import { passwordPages } from './passwordPages';
import type { PortalRenderer } from './PortalRenderer';
import { sessionFor, type PortalSessionData } from './portalSession';

export interface PortalRoutesOptions {
  api: PortalApiClient;
  renderer: PortalRenderer;
  captcha: CaptchaService;
  clock: Clock;
  /** Caps 实名用户登录 tries per browser session and per IP, whatever their outcome. */
  attempts: FormAttemptLimiter;
  /** SANDBOX=1: the captcha answer also travels in X-Sandbox-Captcha, for tests. */
  sandbox: boolean;
}

type Tab = 'wechat' | 'password';
/** The API's code when WeChat's daily QR code quota is used up and the QR pool has no idle code. */
const QUOTA_USED_UP = 'wechat_qrcode_quota';
const QUOTA_NOTICE = '微信扫码登录今日暂不可用，请使用实名用户登录。';

const CLIENT_IP = /^[0-9A-Fa-f:.]{2,45}$/;
const BINDING_ID = /^[0-9A-Za-z-]{1,64}$/;

const field = (ctx: Context, name: string): string => {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

const wantsJson = (ctx: Context) => ctx.accepts('html', 'json') === 'json';

/** The captcha of a portal form (实名用户登录, 忘记密码), per portal session (the id is hashed, never stored). */
const captchaScope = (ctx: Context, form: 'login' | 'forgot' = 'login') =>
  `portal:${createHash('sha256')
    .update(ctx.state.portalSession.id ?? '')
    .digest('hex')}:${form}`;

const seeOther = (ctx: Context, location: string) => {
  ctx.status = 303;
  ctx.redirect(location);
};

/**
 * The reference portal's pages. Every fact about accounts, tickets
 * and bindings comes from the public portal API, through PortalApiClient.
 */
export function portalRoutes(options: PortalRoutesOptions): Router {
  const { api, renderer, captcha, clock } = options;
  const router = new Router({ prefix: '/portal' });

  /** Pages for logged-in taxpayers; others go to 登录 and come back afterwards. */
  const requireLogin: Middleware = async (ctx, next) => {
    const session = ctx.state.portalSession.data;
    if (session?.account) {
      await next();
      return;
    }
    if (ctx.method === 'GET') {
      sessionFor(ctx).returnTo = ctx.path;
      ctx.redirect('/portal/login');
      return;
    }
    sessionFor(ctx).flash = { kind: 'error', text: '登录已超时，请重新登录。' };
    seeOther(ctx, '/portal/login');
  };
  const accountOf = (ctx: Context): PortalAccount => ctx.state.portalSession.data!.account!;

  const logIn = async (ctx: Context, account: PortalAccount, method: 'wechat' | 'password') => {
    const session = sessionFor(ctx);
    const returnTo = session.returnTo;
    session.account = account;
    session.loginMethod = method;
    session.loggedInAt = clock.now();
    delete session.ticket;
    delete session.returnTo;
    await ctx.state.portalSession.regenerate();
    seeOther(ctx, returnTo ?? '/portal/');
  };

  /** This browser as the API wants it reported: its IP and User-Agent. */
  const browserOf = (ctx: Context) => ({
    ...(CLIENT_IP.test(ctx.ip) ? { clientIp: ctx.ip } : {}),
    userAgent: ctx.get('user-agent'),
  });

  /** A new QR login ticket for this browser (its IP and User-Agent go to the confirm page). */
  const newTicket = async (ctx: Context, session: PortalSessionData) => {
    const created = await api.createTicket(browserOf(ctx));
    session.ticket = { id: created.ticketId, qrcodeUrl: created.qrcodeUrl, expiresAt: created.expiresAt };
    return session.ticket;
  };

  /** The session's ticket while it can still be used (or, with keepFinished, what it has become but redeemed). */
  const sessionTicket = async (session: PortalSessionData, keepFinished: boolean) => {
    if (!session.ticket) return null;
    const view = await api.ticketStatus(session.ticket.id);
    const finished = !view || view.status === 'redeemed' || view.status === 'expired' || view.status === 'cancelled';
    return view && (!finished || (keepFinished && view.status !== 'redeemed'))
      ? { ticket: session.ticket, status: view.status }
      : null;
  };

  /**
   * The QR this page shows: the session's ticket while it can still be used (or, for 刷新状态,
   * whatever it has become), else a new one. A browser that came without a session gets none yet:
   * its script asks for one (POST /portal/login/qrcode), so a scripted flood of cookieless page
   * loads makes no tickets. null when WeChat or the API cannot make one now.
   */
  const qrFor = async (ctx: Context, keepFinished: boolean) => {
    const isNew = ctx.state.portalSession.data === null;
    const session = sessionFor(ctx);
    if (isNew) return { ticket: null, status: null, waiting: true };
    try {
      return (
        (await sessionTicket(session, keepFinished)) ?? {
          ticket: await newTicket(ctx, session),
          status: 'pending' as TicketStatus,
        }
      );
    } catch (error) {
      if (!(error instanceof PortalApiError || error instanceof PortalApiUnavailableError)) throw error;
      ctx.state.logger.warn({ err: error }, 'portal: no QR code for the login page');
      delete session.ticket;
      return {
        ticket: null,
        status: null,
        quotaUsedUp: error instanceof PortalApiError && error.code === QUOTA_USED_UP,
      };
    }
  };

  const renderLogin = async (
    ctx: Context,
    view: { tab: Tab; keepFinished?: boolean; values?: Record<string, string>; errors?: PasswordLoginErrors },
    status = 200,
  ) => {
    const qr = await qrFor(ctx, view.keepFinished ?? false);
    const state = 'waiting' in qr ? 'waiting' : qrState(qr.status);
    // No QR code can be had today: the page opens on the password login and says why.
    const quotaUsedUp = 'quotaUsedUp' in qr && qr.quotaUsedUp;
    renderer.render(
      ctx,
      'login',
      {
        title: '登录',
        nav: 'login',
        tab: quotaUsedUp ? 'password' : view.tab,
        notice: quotaUsedUp ? QUOTA_NOTICE : null,
        qr: {
          ...qr,
          state,
          // A waiting page's script says 正在获取二维码…; without script the panel's button and hint speak.
          message: state === 'waiting' ? '' : qr.ticket ? QR_MESSAGES[state] : '二维码获取失败，点击刷新',
        },
        messages: JSON.stringify(QR_MESSAGES),
        apiBase: api.base,
        values: view.values ?? {},
        errors: view.errors ?? {},
        captchaNonce: clock.now().toString(36),
      },
      status,
    );
  };

  router.get('/', (ctx) => {
    renderer.render(ctx, 'index', { title: '首页', nav: 'home' });
  });

  router.get('/login', async (ctx) => {
    if (ctx.state.portalSession.data?.account) {
      ctx.redirect('/portal/');
      return;
    }
    const tab: Tab = ctx.query.tab === 'password' ? 'password' : 'wechat';
    await renderLogin(ctx, { tab, keepFinished: ctx.query.check === '1' });
  });

  // 点击刷新 (and a new visitor's first QR code): the session's ticket while it is live, else a new
  // one, so a browser session holds one live ticket however often it asks. The page's script asks
  // for JSON; without script it is a form post.
  router.post('/login/qrcode', async (ctx) => {
    const session = sessionFor(ctx);
    try {
      const live = await sessionTicket(session, false);
      const { ticket, status } = live ?? { ticket: await newTicket(ctx, session), status: 'pending' };
      if (wantsJson(ctx)) {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { ticketId: ticket.id, qrcodeUrl: ticket.qrcodeUrl, expiresAt: ticket.expiresAt, status };
        return;
      }
    } catch (error) {
      if (!(error instanceof PortalApiError || error instanceof PortalApiUnavailableError)) throw error;
      ctx.state.logger.warn({ err: error }, 'portal: QR code not refreshed');
      delete session.ticket;
      if (wantsJson(ctx)) {
        ctx.status = 503;
        ctx.body = { error: { code: 'qrcode_unavailable', message: '二维码获取失败，请稍后再试' } };
        return;
      }
      session.flash = { kind: 'error', text: '二维码获取失败，请稍后再试。' };
    }
    seeOther(ctx, '/portal/login?tab=wechat');
  });

  // The phone said 确定登录: the page posts here and the portal redeems its own ticket.
  router.post('/login/wechat', async (ctx) => {
    const session = sessionFor(ctx);
    const ticket = session.ticket;
    if (!ticket) {
      session.flash = { kind: 'error', text: '二维码已过期，请刷新二维码后重新扫码。' };
      seeOther(ctx, '/portal/login?tab=wechat');
      return;
    }
    try {
      const { account } = await api.redeem(ticket.id);
      await logIn(ctx, account, 'wechat');
    } catch (error) {
      if (!(error instanceof PortalApiError) || error.status >= 500) throw error;
      if (error.code === 'ticket_not_confirmed') {
        session.flash = { kind: 'error', text: '请先在手机上点击“确定登录”。' };
        seeOther(ctx, '/portal/login?tab=wechat&check=1');
        return;
      }
      delete session.ticket;
      session.flash = { kind: 'error', text: '二维码已失效，请重新扫码登录。' };
      seeOther(ctx, '/portal/login?tab=wechat');
    }
  });

  router.post('/login/password', async (ctx) => {
    const loginName = field(ctx, 'loginName').trim();
    // Counted before anything is checked: a flood stops here without spending a captcha or an API call.
    const verdict = await options.attempts.attempt('portal-login', {
      portalSession: ctx.state.portalSession.id ?? '',
      ip: ctx.ip,
    });
    if (!verdict.allowed) {
      ctx.set('Retry-After', String(verdict.retryAfterSeconds));
      const form = retryAfterText(verdict.retryAfterSeconds);
      await renderLogin(ctx, { tab: 'password', values: { loginName }, errors: { form } }, 429);
      return;
    }
    const { password, errors } = await readPasswordLoginForm(ctx, captcha, captchaScope(ctx));
    if (Object.keys(errors).length > 0) {
      await renderLogin(ctx, { tab: 'password', values: { loginName }, errors }, 400);
      return;
    }
    try {
      const { account } = await api.authenticate(loginName, password, browserOf(ctx));
      await logIn(ctx, account, 'password');
    } catch (error) {
      if (!(error instanceof PortalApiError) || error.status >= 500) throw error;
      let status = error.status;
      let message: string;
      if (error.status === 429) {
        // This browser failed too often on this 登录账号; the API says the same for one that does not exist.
        const minutes = Math.max(1, Math.ceil((error.retryAfterSeconds ?? 60) / 60));
        message = `登录失败次数过多，请 ${minutes} 分钟后再试。`;
        if (error.retryAfterSeconds !== null) ctx.set('Retry-After', String(error.retryAfterSeconds));
      } else if (error.status === 401) {
        message = '登录账号或登录密码错误，请重新输入。';
      } else {
        status = 400;
        message = '登录账号或登录密码格式不正确。';
      }
      await renderLogin(ctx, { tab: 'password', values: { loginName }, errors: { form: message } }, status);
    }
  });

  router.get('/captcha', async (ctx) => {
    sessionFor(ctx);
    const form = ctx.query.for === 'forgot' ? 'forgot' : 'login';
    await sendCaptchaImage(ctx, captcha, captchaScope(ctx, form), options.sandbox);
  });

  router.post('/logout', async (ctx) => {
    await ctx.state.portalSession.destroy();
    sessionFor(ctx).flash = { kind: 'success', text: '您已安全退出福建省网上税务局。' };
    seeOther(ctx, '/portal/');
  });

  // 个人进入 → 个人信息管理
  router.get('/home', requireLogin, (ctx) => {
    const session = ctx.state.portalSession.data!;
    renderer.render(ctx, 'home', {
      title: '个人信息管理',
      nav: 'personal',
      side: 'info',
      loginMethod: session.loginMethod === 'wechat' ? '微信扫码登录' : '实名用户登录',
      loggedInAt: session.loggedInAt ? formatShanghaiTime(new Date(session.loggedInAt)) : '',
    });
  });

  // 设置 → 用户管理
  router.get('/settings', requireLogin, (ctx) => {
    renderer.render(ctx, 'settings', { title: '用户管理', nav: 'personal', side: 'settings', settingsTab: 'user' });
  });

  const bindingRows = async (ctx: Context) =>
    (await api.listBindings(accountOf(ctx).id)).map((binding, index) => ({
      index: index + 1,
      id: binding.id,
      nickname: binding.nickname ?? '微信用户',
      openidMasked: binding.openidMasked,
      subscribed: binding.subscribed,
      boundAt: formatShanghaiTime(new Date(binding.boundAt)),
    }));

  // 用户管理 → 微信解绑
  router.get('/settings/wechat', requireLogin, async (ctx) => {
    renderer.render(ctx, 'wechat-bindings', {
      title: '微信解绑',
      nav: 'personal',
      side: 'settings',
      settingsTab: 'wechat',
      bindings: await bindingRows(ctx),
    });
  });

  // 解绑 without script: the confirm dialog as a page.
  router.get('/settings/wechat/unbind', requireLogin, async (ctx) => {
    const id = typeof ctx.query.id === 'string' ? ctx.query.id : '';
    const binding = (await bindingRows(ctx)).find((row) => row.id === id);
    if (!binding) {
      sessionFor(ctx).flash = { kind: 'error', text: '未找到该微信绑定关系，可能已经解除。' };
      ctx.redirect('/portal/settings/wechat');
      return;
    }
    renderer.render(ctx, 'unbind-confirm', {
      title: '微信解绑',
      nav: 'personal',
      side: 'settings',
      settingsTab: 'wechat',
      binding,
    });
  });

  // 确定: the portal asks the API to remove the binding, then shows the list again.
  router.post('/settings/wechat/unbind', requireLogin, async (ctx) => {
    const session = sessionFor(ctx);
    const bindingId = field(ctx, 'bindingId');
    try {
      if (!BINDING_ID.test(bindingId)) throw new PortalApiError(404, 'binding_not_found', 'no such binding');
      await api.unbind(accountOf(ctx).id, bindingId);
      session.flash = { kind: 'success', text: '解绑成功。该微信已解除与本账号的绑定关系，不能再使用微信扫码登录。' };
    } catch (error) {
      if (!(error instanceof PortalApiError) || error.status !== 404) throw error;
      session.flash = { kind: 'error', text: '未找到该微信绑定关系，可能已经解除。' };
    }
    seeOther(ctx, '/portal/settings/wechat');
  });

  passwordPages(router, { api, renderer, captcha, clock, captchaScope, requireLogin, browserOf, accountOf });

  return router;
}
