import path from 'node:path';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import createHttpError, { isHttpError } from 'http-errors';
import type { Context, Middleware, Next } from 'koa';
import compose from 'koa-compose';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AccountService } from '../accounts/AccountService';
import type { AuditLog } from '../audit/AuditLog';
import type { BindingStore } from '../binding/BindingStore';
import type { WebOAuth } from '../h5/oauth/WebOAuth';
import { maskName } from '../security/masking';
import type { CaptchaService } from '../captcha/CaptchaService';
import { sendCaptchaImage } from '../captcha/sendCaptchaImage';
import type { Clock } from '../clock/Clock';
import { retryAfterText } from '../security/FormAttemptLimiter';
import { clientContext } from '../http/clientContext';
import { csrfProtection } from '../http/csrfProtection';
import { readPasswordLoginForm, type PasswordLoginErrors } from '../http/passwordLoginForm';
import { staticFiles } from '../http/staticFiles';
import { describeBrowser } from '../login/describeBrowser';
import { TICKET_STATUSES, type TicketStatus } from '../login/LoginTicket';
import type { LoginService } from '../login/LoginService';
import type { LoginFacts, LoginNoticeSender } from '../loginsafety/LoginNoticeSender';
import { noticeAfterAnswer } from '../loginsafety/noticeAfterAnswer';
import { QR_MESSAGES, qrState } from '../portal/loginStatus';
import { WeChatApiError, WeChatUnavailableError } from '../wechat/api/WeChatApiError';
import type { InteractionState, InteractionStates } from './InteractionStates';
import { ACR, AMR } from './oidcClaims';
import { OIDC_PATH, type OidcProvider } from './oidcProvider';
import { OIDC_ASSETS, type OidcRenderer } from './OidcRenderer';

/** The portal name a client's login tickets carry (keys of the portal API never have a colon in their name). */
const oidcPortalName = (clientId: string) => `oidc:${clientId}`;

export interface InteractionRoutesOptions {
  provider: OidcProvider;
  /** snsapi_base inside WeChat's browser, and which account a WeChat is bound to. */
  webOAuth: WebOAuth;
  bindings: Pick<BindingStore, 'accountIdFor'>;
  audit: AuditLog;
  states: InteractionStates;
  login: LoginService;
  accounts: AccountService;
  captcha: CaptchaService;
  /** 账号登录提醒 after each login, as for the portal API's; null when notices are off. */
  loginNotices: LoginNoticeSender | null;
  renderer: OidcRenderer;
  clock: Clock;
  publicUrl: string;
  /** SANDBOX=1: the captcha answer also travels in X-Sandbox-Captcha, for tests. */
  sandbox: boolean;
  projectRoot: string;
}

/** What the routes below know about the interaction of the request. */
interface CurrentInteraction {
  uid: string;
  /** Seconds the interaction has left (its state lives as long). */
  ttl: number;
  state: InteractionState;
  clientId: string;
  clientName: string;
  /** The origin the finished login redirects to (the client's redirect_uri). */
  redirectOrigin: string | null;
  /** `login`, or `consent` when the site asked for it (prompt=consent): granted without asking, as every site is configured. */
  prompt: string;
}

declare module 'koa' {
  interface DefaultState {
    interaction?: CurrentInteraction;
  }
}

type Tab = 'wechat' | 'password';

/** How a login on this page was made: the ID token's acr/amr, and the notice's 登录方式. */
interface LoginWay {
  acr: string;
  amr: string;
  method: LoginFacts['method'];
}
const SCANNED: LoginWay = { acr: ACR.wechat, amr: AMR.wechatScan, method: 'qr' };
const CONFIRMED_IN_WECHAT: LoginWay = { acr: ACR.wechat, amr: AMR.wechatOAuth, method: 'wechat_browser' };
const BY_PASSWORD: LoginWay = { acr: ACR.password, amr: AMR.password, method: 'password' };

const MAX_WAIT_SECONDS = 25;
const EXPIRED_LINES = ['本次登录请求已过期或已完成。', '请返回原网站，重新点击登录。'];

/** WeChat's in-app browser: there the QR code is the phone one is holding, so the page asks WeChat who it is. */
const inWeChat = (ctx: Context) => /MicroMessenger/i.test(ctx.get('user-agent'));
const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const wantsJson = (ctx: Context) => ctx.accepts('html', 'json') === 'json';
const originOf = (url: unknown): string | null => {
  try {
    return typeof url === 'string' ? new URL(url).origin : null;
  } catch {
    return null;
  }
};

/**
 * The login interaction of the OpenID Connect provider, `/oidc/interaction/:uid`: our own page in
 * the portal's style with 微信扫码登录 (a login ticket created on behalf of the client, its status
 * by long-poll, the confirm on the phone as for any portal) and 实名用户登录 (password and image
 * captcha through AccountService, with its login pacing). Every form carries the interaction's CSRF
 * token; a finished login goes back to oidc-provider with the account, `acr` and `amr`, and is
 * told to the account's WeChat as every login is.
 */
export function interactionRoutes(options: InteractionRoutesOptions): Middleware {
  const { provider, states, login, accounts, captcha, renderer, clock } = options;
  const router = new Router({ prefix: `${OIDC_PATH}/interaction/:uid` });
  const current = (ctx: Context): CurrentInteraction => ctx.state.interaction!;
  const pageUrl = (ctx: Context, query = '') => `${OIDC_PATH}/interaction/${current(ctx).uid}${query}`;
  const captchaScope = (ctx: Context) => `oidc:${createHash('sha256').update(current(ctx).uid).digest('hex')}:login`;

  /** The interaction this browser is in (its signed cookie names it), or the "expired" page. */
  const loadInteraction = async (ctx: Context, uid: string, next: Next) => {
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (error) {
      if ((error as { name?: string }).name !== 'SessionNotFound') throw error;
      throw createHttpError(400, EXPIRED_LINES.join(''), { title: '登录请求已过期' });
    }
    if (details.uid !== uid || !['login', 'consent'].includes(details.prompt.name))
      throw createHttpError(400, EXPIRED_LINES.join(''), { title: '登录请求已过期' });
    const ttl = Math.max(1, details.exp - Math.floor(clock.now() / 1000));
    const client = await provider.Client.find(String(details.params.client_id));
    ctx.state.interaction = {
      uid: details.uid,
      ttl,
      state: await states.ensure(details.uid, ttl),
      clientId: String(details.params.client_id),
      clientName: client?.clientName ?? String(details.params.client_id),
      redirectOrigin: originOf(details.params.redirect_uri),
      prompt: details.prompt.name,
    };
    await next();
  };

  const saveState = (ctx: Context) => states.save(current(ctx).uid, current(ctx).state, current(ctx).ttl);

  const newTicket = async (ctx: Context) => {
    const interaction = current(ctx);
    // The client is the requesting portal: only its interaction redeems the ticket, and the phone names it.
    const created = await login.createTicket(
      { clientIp: ctx.ip, userAgent: ctx.get('user-agent') },
      { name: oidcPortalName(interaction.clientId), displayName: interaction.clientName },
    );
    interaction.state.ticket = { id: created.ticketId, qrcodeUrl: created.qrcodeUrl };
    await saveState(ctx);
    return interaction.state.ticket;
  };

  /** The QR this page shows: the interaction's ticket while usable, else a new one; null when WeChat cannot make one. */
  const qrFor = async (ctx: Context) => {
    const { state } = current(ctx);
    try {
      if (state.ticket) {
        const view = await login.view(state.ticket.id);
        if (view && !['redeemed', 'expired', 'cancelled'].includes(view.status))
          return { ticket: state.ticket, status: view.status };
      }
      return { ticket: await newTicket(ctx), status: 'pending' as TicketStatus };
    } catch (error) {
      if (!(error instanceof WeChatApiError || error instanceof WeChatUnavailableError)) throw error;
      ctx.state.logger.warn({ err: error }, 'oidc: no QR code for the login page');
      return { ticket: null, status: null };
    }
  };

  const renderLogin = async (
    ctx: Context,
    view: { tab: Tab; values?: Record<string, string>; errors?: PasswordLoginErrors; notice?: string },
    status = 200,
  ) => {
    const interaction = current(ctx);
    const qr = await qrFor(ctx);
    const state = qrState(qr.status);
    renderer.render(
      ctx,
      'login',
      {
        title: '登录',
        clientName: interaction.clientName,
        base: pageUrl(ctx),
        csrfToken: interaction.state.csrfToken,
        tab: qr.ticket ? view.tab : 'password',
        notice: view.notice ?? (qr.ticket ? null : '微信扫码登录暂不可用，请使用实名用户登录。'),
        qr: { ...qr, state, message: qr.ticket ? QR_MESSAGES[state] : '二维码获取失败，点击刷新' },
        messages: JSON.stringify(QR_MESSAGES),
        values: view.values ?? {},
        errors: view.errors ?? {},
        captchaNonce: clock.now().toString(36),
      },
      {
        status,
        images: qr.ticket ? [originOf(qr.ticket.qrcodeUrl) ?? "'self'"] : [],
        formTargets: interaction.redirectOrigin ? [interaction.redirectOrigin] : [],
      },
    );
  };

  /**
   * Hands the account back to oidc-provider, which continues the authorization (and redirects to
   * the site); once that answer is out, every WeChat bound to the account is told, naming the site.
   * `computer` is the browser that logs in (by default this request's).
   */
  const finish = async (
    ctx: Context,
    accountId: string,
    how: LoginWay,
    computer = { ip: ctx.ip, browser: describeBrowser(ctx.get('user-agent')) },
  ) => {
    const returnTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId, acr: how.acr, amr: [how.amr], remember: false } },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(returnTo);
    noticeAfterAnswer(ctx, options.loginNotices, {
      accountId,
      method: how.method,
      portal: current(ctx).clientName,
      at: clock.now(),
      computerIp: computer.ip,
      browser: computer.browser,
    });
  };

  router.get('/', async (ctx) => {
    if (current(ctx).prompt === 'consent') {
      const returnTo = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { consent: {} },
        { mergeWithLastSubmission: true },
      );
      ctx.status = 303;
      ctx.redirect(returnTo);
      return;
    }
    const tab: Tab = ctx.query.tab === 'password' ? 'password' : 'wechat';
    if (tab === 'wechat' && inWeChat(ctx)) {
      const { state } = current(ctx);
      if (!state.openid) {
        state.oauthState = randomBytes(16).toString('hex');
        await saveState(ctx);
        ctx.redirect(
          options.webOAuth.authorizeUrl(`${options.publicUrl}${pageUrl(ctx, '/wechat-oauth')}`, state.oauthState),
        );
        return;
      }
      await renderWeChatConfirm(ctx, state.openid);
      return;
    }
    await renderLogin(ctx, { tab });
  });

  /** In WeChat's browser: the bound WeChat confirms on this page; an unbound one is told to bind or use the password. */
  const renderWeChatConfirm = async (ctx: Context, openid: string, status = 200) => {
    const interaction = current(ctx);
    const accountId = await options.bindings.accountIdFor(openid);
    const account = accountId ? await accounts.findById(accountId) : null;
    if (!account) {
      await renderLogin(
        ctx,
        {
          tab: 'password',
          notice: '您的微信尚未绑定实名账号：请在“福建税务”公众号 微办税 → 实名绑定 完成绑定，或使用实名用户登录。',
        },
        status,
      );
      return;
    }
    const view = accounts.toPublic(account);
    renderer.render(
      ctx,
      'wechat-confirm',
      {
        title: '确认登录',
        clientName: interaction.clientName,
        base: pageUrl(ctx),
        csrfToken: interaction.state.csrfToken,
        loginName: view.loginName,
        realName: maskName(view.realName),
      },
      { status, formTargets: interaction.redirectOrigin ? [interaction.redirectOrigin] : [] },
    );
  };

  // snsapi_base's answer: the openid of the WeChat holding this page (the code is spent once, at WeChat).
  router.get('/wechat-oauth', async (ctx) => {
    const { state } = current(ctx);
    const { code, state: given } = ctx.query;
    const expected = state.oauthState;
    delete state.oauthState;
    await saveState(ctx);
    if (typeof code !== 'string' || typeof given !== 'string' || !expected || !sameText(expected, given)) {
      ctx.redirect(pageUrl(ctx, '?tab=password'));
      return;
    }
    const identity = await options.webOAuth.exchange(code).catch(() => null);
    if (identity && !identity.snapshotUser) {
      state.openid = identity.openid;
      await saveState(ctx);
      ctx.redirect(pageUrl(ctx));
      return;
    }
    ctx.redirect(pageUrl(ctx, '?tab=password'));
  });

  // 确定登录 on the phone's own page: the WeChat snsapi_base identified, if it is still bound.
  router.post('/wechat-confirm', async (ctx) => {
    const interaction = current(ctx);
    const openid = interaction.state.openid;
    const accountId = openid ? await options.bindings.accountIdFor(openid) : null;
    if (!openid || !accountId) {
      await renderLogin(ctx, { tab: 'password', notice: '您的微信尚未绑定实名账号，请使用实名用户登录。' }, 400);
      return;
    }
    await options.audit.recordOrLog({
      type: 'login_confirmed',
      accountId,
      openid,
      ...clientContext(ctx),
      detail: { via: 'oidc_wechat_oauth', client: interaction.clientName },
    });
    await finish(ctx, accountId, CONFIRMED_IN_WECHAT);
  });

  // 点击刷新: a new QR code (JSON for the page's script, a redirect without it).
  router.post('/qrcode', async (ctx) => {
    const qr = await qrFor(ctx);
    if (wantsJson(ctx)) {
      ctx.set('Cache-Control', 'no-store');
      if (!qr.ticket) {
        ctx.status = 503;
        ctx.body = { error: { code: 'qrcode_unavailable', message: '二维码获取失败，请稍后再试' } };
        return;
      }
      // A fresh code unless the current one is still waiting for its scan.
      const ticket = qr.status === 'pending' ? qr.ticket : await newTicket(ctx);
      ctx.body = { qrcodeUrl: ticket.qrcodeUrl, status: 'pending' };
      return;
    }
    ctx.status = 303;
    ctx.redirect(pageUrl(ctx));
  });

  // The live status, by long-poll: never the ticket id or anything personal.
  router.get('/status', async (ctx) => {
    const { wait, status } = ctx.query;
    const waitSeconds =
      typeof wait === 'string' && /^\d{1,2}$/.test(wait) ? Math.min(Number(wait), MAX_WAIT_SECONDS) : 0;
    const baseline =
      typeof status === 'string' && (TICKET_STATUSES as readonly string[]).includes(status)
        ? (status as TicketStatus)
        : undefined;
    ctx.set('Cache-Control', 'no-store');
    const ticket = current(ctx).state.ticket;
    const view = ticket ? await login.waitForChange(ticket.id, baseline, waitSeconds * 1000) : null;
    ctx.body = { status: view?.status ?? 'expired' };
  });

  // The phone said 确定登录: the page posts here, and the ticket is redeemed for the account.
  router.post('/wechat', async (ctx) => {
    const { state } = current(ctx);
    if (!state.ticket) {
      await renderLogin(ctx, { tab: 'wechat', notice: '二维码已过期，请重新扫码。' }, 400);
      return;
    }
    // Audited as the API's redeem is, with the client in place of the portal key's name.
    const result = await login.redeem(state.ticket.id, clientContext(ctx), oidcPortalName(current(ctx).clientId));
    if (result.ok) {
      delete state.ticket;
      await saveState(ctx);
      // The computer is the one that asked for the QR code: this browser, as the ticket recorded it.
      await finish(ctx, result.account.id, SCANNED, result.computer);
      return;
    }
    if (result.reason !== 'not_confirmed') {
      delete state.ticket;
      await saveState(ctx);
    }
    const notice =
      result.reason === 'not_confirmed' ? '请先在手机上点击“确定登录”。' : '二维码已失效，请重新扫码登录。';
    await renderLogin(ctx, { tab: 'wechat', notice }, 400);
  });

  router.post('/password', async (ctx) => {
    const { loginName, password, errors } = await readPasswordLoginForm(ctx, captcha, captchaScope(ctx));
    if (Object.keys(errors).length > 0) {
      await renderLogin(ctx, { tab: 'password', values: { loginName }, errors }, 400);
      return;
    }
    const result = await accounts.authenticate(loginName, password, clientContext(ctx));
    if (result.ok) {
      await finish(ctx, result.account.id, BY_PASSWORD);
      return;
    }
    if (result.reason === 'too_many_attempts') {
      // This browser failed too often on this 登录账号; the same wait for one that does not exist.
      ctx.set('Retry-After', String(result.retryAfterSeconds));
      await renderLogin(
        ctx,
        { tab: 'password', values: { loginName }, errors: { form: retryAfterText(result.retryAfterSeconds) } },
        429,
      );
      return;
    }
    await renderLogin(
      ctx,
      { tab: 'password', values: { loginName }, errors: { form: '登录账号或登录密码错误，请重新输入。' } },
      401,
    );
  });

  router.get('/captcha', async (ctx) => {
    await sendCaptchaImage(ctx, captcha, captchaScope(ctx), options.sandbox);
  });

  // 返回: the site gets the standard access_denied.
  router.post('/abort', async (ctx) => {
    const returnTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { error: 'access_denied', error_description: 'the user cancelled the login' },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  /** Every failure ends on a page, never a stack or a bare status; bad input never a 5xx. */
  const errorPages: Middleware = async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined)
        renderer.renderMessage(ctx, { title: '页面不存在', lines: ['您访问的页面不存在。'], status: 404 });
      else if (ctx.status === 405)
        renderer.renderMessage(ctx, { title: '请求无效', lines: ['请从页面上的按钮进行操作。'], status: 405 });
    } catch (error) {
      if (isHttpError(error) && error.expose) {
        renderer.renderMessage(ctx, {
          title: (error as { title?: string }).title ?? '无法完成操作',
          lines: [error.message],
          status: error.status,
        });
        return;
      }
      ctx.state.logger.error({ err: error }, 'oidc interaction failed');
      renderer.renderMessage(ctx, { title: '服务暂时不可用', lines: ['系统繁忙，请稍后再试。'], status: 503 });
    }
  };

  const formBody = bodyParser({
    enableTypes: ['form'],
    formLimit: '16kb',
    onError: () => {
      throw createHttpError(400, '提交的内容无法识别，请返回重试。');
    },
  }) as Middleware;

  const stack = compose([
    errorPages,
    formBody,
    // Only this page's routes: the uid must name the interaction the browser's cookie names.
    async (ctx: Context, next: Next) => {
      const match = /^\/oidc\/interaction\/([\w-]{1,64})(?:\/|$)/.exec(ctx.path);
      if (match) await loadInteraction(ctx, match[1]!, next);
      else await next();
    },
    csrfProtection({
      publicOrigin: new URL(options.publicUrl).origin,
      sessionToken: (ctx) => ctx.state.interaction?.state.csrfToken,
      message: '页面已过期或请求来源无效，请返回重新操作。',
    }),
    router.routes() as Middleware,
    router.allowedMethods() as Middleware,
  ]);
  const assets = staticFiles({
    urlPrefix: OIDC_ASSETS,
    directory: path.join(options.projectRoot, 'static', 'oidc'),
    extra: {
      'emblem.svg': path.join(options.projectRoot, 'static', 'portal', 'emblem.svg'),
      'login.css': path.join(options.projectRoot, 'static', 'login', 'login.css'),
    },
    cacheControl: 'public, max-age=3600',
  });

  const nothingFurther = () => Promise.resolve();
  return async (ctx, next) => {
    if (ctx.path.startsWith(`${OIDC_ASSETS}/`)) await assets(ctx, next);
    // Everything under /oidc/interaction/ is this page's; the rest of /oidc is oidc-provider's.
    else if (ctx.path.startsWith(`${OIDC_PATH}/interaction/`)) await stack(ctx, nothingFurther);
    else await next();
  };
}
