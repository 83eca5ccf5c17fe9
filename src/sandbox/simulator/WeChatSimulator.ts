import { randomInt } from 'node:crypto';
import { Router } from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import QRCode from 'qrcode';
import { type Clock, systemClock } from '../../clock/Clock';
import { shanghaiDate } from '../../clock/shanghaiTime';
import { AccessTokens } from './AccessTokens';
import { authorizeErrorPage, openInWeChatPage } from './authorizePages';
import { type Fault, FaultInjector } from './FaultInjector';
import { type CustomMenu, menuForGet, validateMenu } from './menuRules';
import { type AcceptedMessage, validateCustomMessage, validateTemplateMessage } from './messageRules';
import type { MessageTemplate } from './MessageTemplates';
import { type QrCode, QrCodeRegistry } from './QrCodeRegistry';
import { parseQrCodeRequest } from './qrCodeRequest';
import { randomOpenId } from './randomStrings';
import { readJsonBody } from './readJsonBody';
import { WeChatApiError, asRecord, commonErrors } from './WeChatApiError';
import { WebAuthorization, isOAuthScope } from './WebAuthorization';

export type { Fault } from './FaultInjector';
export type { QrCode } from './QrCodeRegistry';

export interface WeChatSimulatorOptions {
  appId: string;
  appSecret: string;
  clock?: Clock;
  /** Where the simulator is reachable (no trailing slash needed); only used to build image URLs. */
  publicBase?: string;
  /** qrcode/create calls allowed a day (Beijing time) before 45009; WeChat's default is 100,000. */
  qrCodeDailyQuota?: number;
  /**
   * The 网页授权域名 of the console: OAuth authorize sends codes only to a redirect_uri under this
   * base (same origin, path below it), as WeChat does; unset, any http(s) URL (tests of the simulator).
   */
  redirectBase?: string;
}

/** A WeChat user the simulator knows: the only openids the messaging and OAuth APIs accept. */
export interface SimulatedUser {
  openid: string;
  nickname: string;
  unionid?: string;
}

/** A 客服 or template message the service sent. */
export interface OutboxMessage {
  kind: 'custom' | 'template';
  touser: string;
  /** The request body as sent. */
  body: unknown;
  at: number;
  /** Template messages only: the msgid answered, which a TEMPLATESENDJOBFINISH push would carry. */
  msgid?: number;
}

/** The newest requests, answers and messages kept (`calls`, `outbox`); older ones are dropped. */
export const MAX_RECORDED = 1000;

/** One request the simulator received (faulted ones included). */
export interface SimulatorCall {
  method: string;
  path: string;
  at: number;
}

/** The cookie (on the simulator's origin) and the header that say which WeChat user opens a page. */
export const SIMULATED_USER_COOKIE = 'wxsim_openid';
export const SIMULATED_USER_HEADER = 'x-sim-openid';

const POST_ONLY_PATHS = [
  '/cgi-bin/stable_token',
  '/cgi-bin/qrcode/create',
  '/cgi-bin/menu/create',
  '/cgi-bin/message/custom/send',
  '/cgi-bin/message/template/send',
];
/** Browsers and WeChat cache the image for a week. */
const QR_IMAGE_CACHE_CONTROL = 'max-age=604800';
const QR_IMAGE_WIDTH = 430;
const QR_DAILY_QUOTA = 100_000;

/**
 * A stand-in for api.weixin.qq.com, open.weixin.qq.com and mp.weixin.qq.com in one Koa app (their
 * paths do not collide), behaving as the official docs describe. Routes are relative, so the app
 * can be listened on directly or mounted under a prefix.
 */
export class WeChatSimulator {
  readonly app: Koa;
  readonly calls: SimulatorCall[] = [];
  readonly outbox: OutboxMessage[] = [];

  private readonly appId: string;
  private readonly appSecret: string;
  private readonly clock: Clock;
  private readonly publicBase: string;
  private readonly tokens: AccessTokens;
  private readonly qr: QrCodeRegistry;
  private readonly oauth: WebAuthorization;
  private readonly faults = new FaultInjector();
  private readonly knownUsers = new Map<string, SimulatedUser>();
  /** 我的模板: the templates the account has added in the console; reset() keeps them, as a console would. */
  private readonly messageTemplates = new Map<string, MessageTemplate>();
  private currentMenu: { menu: CustomMenu; menuid: number } | null = null;
  private successfulTokenFetches = 0;
  private nextTemplateMsgId = randomInt(1_000_000_000, 4_000_000_000);
  private qrCodeDailyQuota: number;
  private readonly qrCreatesByDay = new Map<string, number>();
  private readonly redirectBase: URL | null;
  private readonly answeredPaths: string[] = [];
  private readonly answerWaiters = new Set<() => void>();

  constructor(options: WeChatSimulatorOptions) {
    this.appId = options.appId;
    this.appSecret = options.appSecret;
    this.clock = options.clock ?? systemClock;
    this.publicBase = (options.publicBase ?? 'http://127.0.0.1').replace(/\/+$/, '');
    this.qrCodeDailyQuota = options.qrCodeDailyQuota ?? QR_DAILY_QUOTA;
    this.redirectBase = options.redirectBase === undefined ? null : new URL(options.redirectBase);
    this.tokens = new AccessTokens(this.clock);
    this.qr = new QrCodeRegistry(this.clock);
    this.oauth = new WebAuthorization(this.clock);
    this.app = this.buildApp();
  }

  // ---- inspection -------------------------------------------------------------------------------

  /**
   * Resolves once `count` calls whose path ends with `pathSuffix` have been answered since the last
   * reset (what they changed, the outbox for one, is then settled): the event a test awaits. Counted
   * among the newest MAX_RECORDED answered calls.
   */
  async answered(pathSuffix: string, count = 1): Promise<void> {
    while (this.answeredPaths.filter((p) => p.endsWith(pathSuffix)).length < count)
      await new Promise<void>((resolve) => this.answerWaiters.add(resolve));
  }

  /** Successful /cgi-bin/token plus /cgi-bin/stable_token requests. */
  tokenFetches(): number {
    return this.successfulTokenFetches;
  }

  /** The menu as accepted by the last successful menu/create, or null. */
  get menu(): unknown {
    return this.currentMenu?.menu ?? null;
  }

  qrByTicket(ticket: string): QrCode | undefined {
    return this.qr.byTicket(ticket);
  }

  qrByUrl(url: string): QrCode | undefined {
    return this.qr.byUrl(url);
  }

  qrCodes(): QrCode[] {
    return this.qr.all();
  }

  /** The showqrcode address of a ticket under `publicBase` (the ticket URL-encoded, as required). */
  qrImageUrl(ticket: string): string {
    return `${this.publicBase}/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`;
  }

  // ---- users ------------------------------------------------------------------------------------

  /** Adds (or replaces) a user with a given openid. */
  addUser(user: SimulatedUser): SimulatedUser {
    const stored: SimulatedUser = { ...user };
    this.knownUsers.set(stored.openid, stored);
    return { ...stored };
  }

  /** A new user with a realistic random openid (28 chars, starting with 'o'). */
  createUser(nickname: string, extra: { unionid?: string } = {}): SimulatedUser {
    let openid = randomOpenId(this.appId);
    while (this.knownUsers.has(openid)) openid = randomOpenId(this.appId);
    return this.addUser({ openid, nickname, ...(extra.unionid === undefined ? {} : { unionid: extra.unionid }) });
  }

  /** OAuth codes, web access tokens and refresh tokens held now (each kind bounded). */
  get webAuthorizationsHeld(): { codes: number; accessTokens: number; refreshTokens: number } {
    return this.oauth.held;
  }

  users(): SimulatedUser[] {
    return [...this.knownUsers.values()].map((user) => ({ ...user }));
  }

  // ---- template messages -------------------------------------------------------------------------

  /**
   * Adds a template to 我的模板, as an operator does in the console. A send naming a template the
   * simulator was not given is still accepted (tests send made-up ids) and shown by its keys.
   */
  addMessageTemplate(template: MessageTemplate): void {
    this.messageTemplates.set(template.template_id, { ...template });
  }

  messageTemplate(templateId: string): MessageTemplate | undefined {
    return this.messageTemplates.get(templateId);
  }

  // ---- faults and token control -----------------------------------------------------------------

  /** The next `times` requests whose path ends with `pathSuffix` misbehave as `fault` says. */
  failNext(pathSuffix: string, fault: Fault, times = 1): void {
    this.faults.failNext(pathSuffix, fault, times);
  }

  resetFaults(): void {
    this.faults.reset();
  }

  /** qrcode/create calls allowed a day from now on (calls already made today still count). */
  setQrCodeDailyQuota(calls: number): void {
    this.qrCodeDailyQuota = calls;
  }

  /** Successful qrcode/create calls today (Beijing time, by the simulator's clock). */
  qrCodeCreatesToday(): number {
    return this.qrCreatesByDay.get(this.beijingDay()) ?? 0;
  }

  /** Every /cgi-bin access token issued so far (both spaces) answers 42001 from now on. */
  expireAccessTokens(): void {
    this.tokens.expireAll();
  }

  /** Every /cgi-bin access token issued so far (both spaces) answers 40001 from now on. */
  invalidateAccessTokens(): void {
    this.tokens.invalidateAll();
  }

  reset(): void {
    this.calls.length = 0;
    this.answeredPaths.length = 0;
    this.outbox.length = 0;
    this.currentMenu = null;
    this.knownUsers.clear();
    this.tokens.clear();
    this.qr.clear();
    this.oauth.clear();
    this.faults.reset();
    this.successfulTokenFetches = 0;
    this.qrCreatesByDay.clear();
  }

  // ---- the HTTP side ----------------------------------------------------------------------------

  private buildApp(): Koa {
    const app = new Koa();
    app.use(async (ctx, next) => {
      record(this.calls, { method: ctx.method, path: ctx.path, at: this.clock.now() });
      try {
        await next();
      } finally {
        record(this.answeredPaths, ctx.path);
        for (const wake of this.answerWaiters) wake();
        this.answerWaiters.clear();
      }
    });
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        if (!(error instanceof WeChatApiError)) throw error;
        ctx.status = 200;
        ctx.body = { errcode: error.errcode, errmsg: error.errmsg };
      }
    });
    app.use(this.faults.middleware);
    const router = this.buildRouter();
    app.use(router.routes());
    app.use(router.allowedMethods());
    return app;
  }

  private buildRouter(): Router {
    const router = new Router();
    const withToken = (ctx: Context, next: Next): Promise<void> => {
      this.tokens.verify(queryParam(ctx, 'access_token'));
      return next();
    };

    // WeChat answers a GET on its POST APIs with a JSON error rather than 405.
    for (const path of POST_ONLY_PATHS) {
      router.get(path, () => {
        throw commonErrors.requirePost();
      });
    }

    router.get('/cgi-bin/token', (ctx) => {
      this.checkGrantType(queryParam(ctx, 'grant_type'), 'client_credential');
      this.checkAppCredentials(queryParam(ctx, 'appid'), queryParam(ctx, 'secret'));
      const grant = this.tokens.issueToken();
      this.successfulTokenFetches += 1;
      ctx.body = { access_token: grant.accessToken, expires_in: grant.expiresIn };
    });

    router.post('/cgi-bin/stable_token', async (ctx) => {
      const body = asRecord(await readJsonBody(ctx));
      if (!body) throw commonErrors.dataFormat();
      this.checkGrantType(stringField(body.grant_type), 'client_credential');
      this.checkAppCredentials(stringField(body.appid), stringField(body.secret));
      const forceRefresh = body.force_refresh ?? false;
      if (typeof forceRefresh !== 'boolean') throw commonErrors.dataFormat();
      const grant = this.tokens.stableToken(forceRefresh);
      this.successfulTokenFetches += 1;
      ctx.body = { access_token: grant.accessToken, expires_in: grant.expiresIn };
    });

    router.post('/cgi-bin/qrcode/create', withToken, async (ctx) => {
      const request = parseQrCodeRequest(await readJsonBody(ctx));
      const day = this.beijingDay();
      const made = this.qrCreatesByDay.get(day) ?? 0;
      if (made >= this.qrCodeDailyQuota) throw new WeChatApiError(45009, 'reach max api daily quota limit');
      this.qrCreatesByDay.set(day, made + 1);
      const code = this.qr.create(request);
      ctx.body =
        code.expiresAt === null
          ? { ticket: code.ticket, url: code.url }
          : {
              ticket: code.ticket,
              expire_seconds: Math.round((code.expiresAt - this.clock.now()) / 1000),
              url: code.url,
            };
    });

    // The image host needs no token; the ticket alone is the credential.
    router.get('/cgi-bin/showqrcode', async (ctx) => {
      const ticket = queryParam(ctx, 'ticket');
      const code = ticket === undefined ? undefined : this.qr.live(ticket);
      if (!code) {
        ctx.status = 404;
        return;
      }
      ctx.body = await QRCode.toBuffer(code.url, { type: 'png', width: QR_IMAGE_WIDTH, errorCorrectionLevel: 'M' });
      ctx.type = 'image/png';
      ctx.set('Cache-Control', QR_IMAGE_CACHE_CONTROL);
    });

    router.post('/cgi-bin/menu/create', withToken, async (ctx) => {
      const menu = validateMenu(await readJsonBody(ctx));
      this.currentMenu = { menu, menuid: randomInt(100_000_000, 1_000_000_000) };
      ctx.body = ok();
    });

    router.get('/cgi-bin/menu/get', withToken, (ctx) => {
      if (!this.currentMenu) throw new WeChatApiError(46003, 'menu no exist');
      ctx.body = { menu: { ...menuForGet(this.currentMenu.menu), menuid: this.currentMenu.menuid } };
    });

    router.get('/cgi-bin/menu/delete', withToken, (ctx) => {
      this.currentMenu = null;
      ctx.body = ok();
    });

    router.post('/cgi-bin/message/custom/send', withToken, async (ctx) => {
      const message = validateCustomMessage(await readJsonBody(ctx), (openid) => this.knownUsers.has(openid));
      this.deliver('custom', message);
      ctx.body = ok();
    });

    router.post('/cgi-bin/message/template/send', withToken, async (ctx) => {
      const message = validateTemplateMessage(await readJsonBody(ctx), (openid) => this.knownUsers.has(openid));
      const msgid = this.nextTemplateMsgId;
      this.nextTemplateMsgId += 1;
      this.deliver('template', message, msgid);
      ctx.body = { errcode: 0, errmsg: 'ok', msgid };
    });

    router.get('/cgi-bin/template/get_all_private_template', withToken, (ctx) => {
      ctx.body = {
        template_list: [...this.messageTemplates.values()].map((t) => ({
          ...t,
          primary_industry: '政府与公共事业',
          deputy_industry: '政务民生',
        })),
      };
    });

    router.get('/connect/oauth2/authorize', (ctx) => this.authorize(ctx));

    router.get('/sns/oauth2/access_token', (ctx) => {
      this.checkAppCredentials(queryParam(ctx, 'appid'), queryParam(ctx, 'secret'));
      this.checkGrantType(queryParam(ctx, 'grant_type'), 'authorization_code');
      const grant = this.oauth.exchangeCode(queryParam(ctx, 'code'), this.appId);
      const unionid = grant.scope === 'snsapi_userinfo' ? this.knownUsers.get(grant.openid)?.unionid : undefined;
      ctx.body = unionid === undefined ? grant : { ...grant, unionid };
    });

    router.get('/sns/oauth2/refresh_token', (ctx) => {
      this.checkAppId(queryParam(ctx, 'appid'));
      this.checkGrantType(queryParam(ctx, 'grant_type'), 'refresh_token');
      ctx.body = this.oauth.refresh(queryParam(ctx, 'refresh_token'));
    });

    router.get('/sns/userinfo', (ctx) => {
      const token = this.oauth.verifyAccessToken(queryParam(ctx, 'access_token'));
      if (token.scope !== 'snsapi_userinfo') throw new WeChatApiError(48001, 'api unauthorized');
      const user = this.knownUsers.get(token.openid);
      if (queryParam(ctx, 'openid') !== token.openid || !user) throw commonErrors.invalidOpenId();
      ctx.body = {
        openid: user.openid,
        nickname: user.nickname,
        // WeChat stopped filling these in late 2021.
        sex: 0,
        province: '',
        city: '',
        country: '',
        headimgurl: '',
        privilege: [],
        ...(user.unionid === undefined ? {} : { unionid: user.unionid }),
      };
    });

    router.get('/sns/auth', (ctx) => {
      const token = this.oauth.verifyAccessToken(queryParam(ctx, 'access_token'));
      if (queryParam(ctx, 'openid') !== token.openid) throw commonErrors.invalidOpenId();
      ctx.body = ok();
    });

    return router;
  }

  /**
   * open.weixin.qq.com/connect/oauth2/authorize. Errors are pages, not JSON, because a browser is
   * on the other end. The simulated "WeChat client" is whoever the cookie or header names.
   */
  private authorize(ctx: Context): void {
    ctx.type = 'text/html; charset=utf-8';
    if (queryParam(ctx, 'appid') !== this.appId) {
      ctx.body = authorizeErrorPage(10013, 'appid 参数错误');
      return;
    }
    const redirectUri = queryParam(ctx, 'redirect_uri');
    if (redirectUri === undefined || !isAbsoluteHttpUrl(redirectUri) || !this.mayRedirectTo(redirectUri)) {
      ctx.body = authorizeErrorPage(10003, 'redirect_uri 参数错误');
      return;
    }
    if (queryParam(ctx, 'response_type') !== 'code') {
      ctx.body = authorizeErrorPage(null, 'response_type 参数错误');
      return;
    }
    const scope = queryParam(ctx, 'scope');
    if (!isOAuthScope(scope)) {
      ctx.body = authorizeErrorPage(10005, 'scope 参数错误或没有 scope 权限');
      return;
    }
    const openid = ctx.get(SIMULATED_USER_HEADER) || ctx.cookies.get(SIMULATED_USER_COOKIE);
    if (!openid || !this.knownUsers.has(openid)) {
      ctx.body = openInWeChatPage();
      return;
    }
    const code = this.oauth.issueCode(openid, this.appId, scope);
    ctx.redirect(withCodeAndState(redirectUri, code, queryParam(ctx, 'state') ?? ''));
  }

  /** Under the 网页授权域名, when one is set: same origin, and the base's path or below it. */
  private mayRedirectTo(redirectUri: string): boolean {
    if (!this.redirectBase) return true;
    const target = new URL(redirectUri);
    const basePath = this.redirectBase.pathname.replace(/\/+$/, '');
    return (
      target.origin === this.redirectBase.origin &&
      (target.pathname === basePath || target.pathname.startsWith(`${basePath}/`))
    );
  }

  private deliver(kind: OutboxMessage['kind'], message: AcceptedMessage, msgid?: number): void {
    record(this.outbox, {
      kind,
      touser: message.touser,
      body: message.body,
      at: this.clock.now(),
      ...(msgid === undefined ? {} : { msgid }),
    });
  }

  /** WeChat's API quotas restart at midnight Beijing time. */
  private beijingDay(): string {
    return shanghaiDate(this.clock.now());
  }

  private checkGrantType(value: string | undefined, expected: string): void {
    if (value !== expected) throw commonErrors.invalidGrantType();
  }

  private checkAppId(appId: string | undefined): void {
    if (appId === undefined || appId === '') throw commonErrors.appIdMissing();
    if (appId !== this.appId) throw commonErrors.invalidAppId();
  }

  private checkAppCredentials(appId: string | undefined, secret: string | undefined): void {
    this.checkAppId(appId);
    if (secret === undefined || secret === '') throw commonErrors.appSecretMissing();
    if (secret !== this.appSecret) throw commonErrors.invalidAppSecret();
  }
}

/** Appends to a log that keeps only its newest MAX_RECORDED entries. */
function record<T>(log: T[], entry: T): void {
  log.push(entry);
  if (log.length > MAX_RECORDED) log.splice(0, log.length - MAX_RECORDED);
}

function ok(): { errcode: 0; errmsg: 'ok' } {
  return { errcode: 0, errmsg: 'ok' };
}

/** A repeated query parameter counts by its first value. */
function queryParam(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[0] : value;
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isAbsoluteHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Appends code and state the way WeChat does, leaving the existing query (and any #fragment) as is. */
function withCodeAndState(redirectUri: string, code: string, state: string): string {
  const hashAt = redirectUri.indexOf('#');
  const base = hashAt === -1 ? redirectUri : redirectUri.slice(0, hashAt);
  const fragment = hashAt === -1 ? '' : redirectUri.slice(hashAt);
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}${fragment}`;
}
