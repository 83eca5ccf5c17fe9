import Router from '@koa/router';
import type { JSONSchemaType } from 'ajv';
import createHttpError from 'http-errors';
import type { Context, Middleware } from 'koa';
import { looksLikeMobileNumber } from '../../accounts/personalNumbers';
import type { Clock } from '../../clock/Clock';
import { jsonBody } from '../../http/jsonBody';
import { validateBody } from '../../http/validateBody';
import type { SmsOutbox } from '../SmsOutbox';
import type { SimulatedUser, WeChatSimulator } from '../simulator/WeChatSimulator';
import type { ChatMessage } from './ChatMessage';
import { chatTimeline } from './chatTimeline';
import type { PhoneChatLog } from './PhoneChatLog';
import type { PhoneMenu } from './PhoneMenu';
import { PhoneRuleError } from './PhoneRuleError';
import type { PhoneUserCookie } from './phoneUserCookie';
import { PushFailedError } from './PushFailedError';
import { publicHostOnly, sameOriginOnly } from './sameOriginOnly';
import { scannableQrCodes, type ScannableQrCode } from './scannableQrCodes';
import type { PushOutcome, SimulatedWeChatClient } from './SimulatedWeChatClient';

export const PHONE_API = '/sandbox/phone/api';

export interface PhoneApiOptions {
  simulator: WeChatSimulator;
  client: SimulatedWeChatClient;
  chat: PhoneChatLog;
  menu: PhoneMenu;
  userCookie: PhoneUserCookie;
  smsOutbox: SmsOutbox | null;
  clock: Clock;
  publicOrigin: string;
}

const OPENID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;

interface NewUserBody {
  nickname: string;
}
interface UserBody {
  openid: string;
}
interface TextBody {
  openid: string;
  text: string;
}
interface ClickBody {
  openid: string;
  key: string;
}
interface ViewBody {
  openid: string;
  url: string;
}
interface ScanBody {
  openid: string;
  ticket?: string;
}

const NICKNAME = { type: 'string', minLength: 1, maxLength: 20, pattern: '\\S' } as const;

const newUserSchema: JSONSchemaType<NewUserBody> = {
  type: 'object',
  properties: { nickname: NICKNAME },
  required: ['nickname'],
  additionalProperties: false,
};
const userSchema: JSONSchemaType<UserBody> = {
  type: 'object',
  properties: { openid: OPENID },
  required: ['openid'],
  additionalProperties: false,
};
const textSchema: JSONSchemaType<TextBody> = {
  type: 'object',
  properties: { openid: OPENID, text: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' } },
  required: ['openid', 'text'],
  additionalProperties: false,
};
const clickSchema: JSONSchemaType<ClickBody> = {
  type: 'object',
  properties: { openid: OPENID, key: { type: 'string', minLength: 1, maxLength: 128 } },
  required: ['openid', 'key'],
  additionalProperties: false,
};
const viewSchema: JSONSchemaType<ViewBody> = {
  type: 'object',
  properties: { openid: OPENID, url: { type: 'string', minLength: 1, maxLength: 1024 } },
  required: ['openid', 'url'],
  additionalProperties: false,
};
const scanSchema: JSONSchemaType<ScanBody> = {
  type: 'object',
  properties: { openid: OPENID, ticket: { type: 'string', minLength: 1, maxLength: 512, nullable: true } },
  required: ['openid'],
  additionalProperties: false,
};

/**
 * The sandbox phone's JSON API (`SANDBOX=1` only). Each route checks its input, finds the simulated
 * user and hands over to SimulatedWeChatClient, which sends the real push; the answer carries the
 * push that was sent and its passive reply. 404 for an unknown user or QR code, 409 for what the
 * WeChat client would not allow, 502 when /wechat did not answer a push properly.
 */
export function phoneApiRoutes(options: PhoneApiOptions): Router {
  const { simulator, client } = options;
  const router = new Router({ prefix: PHONE_API });
  const readNewUser = validateBody(newUserSchema);
  const readUser = validateBody(userSchema);
  const readText = validateBody(textSchema);
  const readClick = validateBody(clickSchema);
  const readView = validateBody(viewSchema);
  const readScan = validateBody(scanSchema);
  router.use(publicHostOnly(options.publicOrigin), sameOriginOnly(options.publicOrigin), jsonBody(), mapPhoneErrors);

  const userView = (user: SimulatedUser) => ({
    openid: user.openid,
    nickname: user.nickname,
    following: client.isFollowing(user),
  });
  const findUser = (openid: string): SimulatedUser => {
    const user = simulator.users().find((candidate) => candidate.openid === openid);
    if (!user) throw createHttpError(404, '没有这个模拟微信用户', { code: 'unknown_user' });
    return user;
  };
  const answer = (ctx: Context, outcome: PushOutcome) => {
    ctx.body = { push: outcome.push, reply: outcome.reply && messageView(outcome.reply), following: outcome.following };
  };

  router.get('/users', (ctx) => {
    const current = options.userCookie.read(ctx);
    const users = simulator.users();
    ctx.body = {
      users: users.map(userView),
      currentOpenid: users.some((user) => user.openid === current) ? current : null,
    };
  });

  router.post('/users', (ctx) => {
    const user = simulator.createUser(readNewUser(ctx).nickname.trim());
    options.userCookie.write(ctx, user.openid);
    ctx.status = 201;
    ctx.body = { user: userView(user) };
  });

  router.put('/current-user', (ctx) => {
    const user = findUser(readUser(ctx).openid);
    options.userCookie.write(ctx, user.openid);
    ctx.body = { user: userView(user) };
  });

  router.get('/chat', (ctx) => {
    const user = findUser(singleQuery(ctx, 'openid'));
    const messages = chatTimeline(user.openid, options.chat.messagesOf(user.openid), simulator.outbox, (id) =>
      simulator.messageTemplate(id),
    );
    ctx.body = { user: userView(user), messages: messages.map(messageView) };
  });

  router.post('/messages', async (ctx) => {
    const body = readText(ctx);
    answer(ctx, await client.sendText(findUser(body.openid), body.text));
  });

  router.post('/follow', async (ctx) => {
    answer(ctx, await client.follow(findUser(readUser(ctx).openid)));
  });

  router.post('/unfollow', async (ctx) => {
    answer(ctx, await client.unfollow(findUser(readUser(ctx).openid)));
  });

  router.post('/menu-clicks', async (ctx) => {
    const body = readClick(ctx);
    const user = findUser(body.openid);
    const button = options.menu.clickButton(body.key);
    if (!button?.key) throw createHttpError(400, `菜单中没有 key 为 ${body.key} 的按钮`, { code: 'unknown_menu_key' });
    answer(ctx, await client.clickMenu(user, { ...button, key: button.key }));
  });

  router.post('/menu-views', async (ctx) => {
    const body = readView(ctx);
    const user = findUser(body.openid);
    const button = options.menu.viewButton(body.url);
    if (!button?.url) throw createHttpError(400, '菜单中没有打开这个网址的按钮', { code: 'unknown_menu_url' });
    answer(ctx, await client.viewMenu(user, { ...button, url: button.url }));
  });

  router.get('/qr-codes', (ctx) => {
    ctx.body = { qrCodes: scannableQrCodes(simulator.qrCodes(), options.clock.now()).map(qrCodeView) };
  });

  router.post('/scans', async (ctx) => {
    const body = readScan(ctx);
    const user = findUser(body.openid);
    const ticket = body.ticket ?? null;
    const live = scannableQrCodes(simulator.qrCodes(), options.clock.now());
    // No ticket: the newest login QR, i.e. the one a portal is showing now.
    const code =
      ticket === null
        ? live.find((candidate) => !candidate.permanent)
        : live.find((candidate) => candidate.ticket === ticket);
    if (!code) {
      throw ticket === null
        ? createHttpError(404, '没有可扫描的登录二维码：请先在网页上打开“微信扫码登录”', { code: 'no_qr_code' })
        : createHttpError(404, '二维码已失效', { code: 'qr_code_expired' });
    }
    answer(ctx, await client.scan(user, code));
  });

  router.get('/sms', (ctx) => {
    const phone = singleQuery(ctx, 'phone');
    if (!looksLikeMobileNumber(phone))
      throw createHttpError(400, 'phone must be one mainland mobile number (11 digits)', { code: 'invalid_phone' });
    const messages = options.smsOutbox?.forPhone(phone) ?? [];
    ctx.body = {
      messages: messages.map((sms) => ({
        phone: sms.phone,
        code: sms.code,
        text: sms.text,
        sentAt: sms.sentAt.toISOString(),
      })),
    };
  });

  return router;
}

/** The JSON shape of a chat line: times as ISO strings, like the rest of the sandbox. */
function messageView(message: ChatMessage): Omit<ChatMessage, 'at'> & { at: string } {
  return { ...message, at: new Date(message.at).toISOString() };
}

function qrCodeView(code: ScannableQrCode) {
  return {
    ticket: code.ticket,
    scene: code.scene,
    permanent: code.permanent,
    expiresAt: code.expiresAt === null ? null : new Date(code.expiresAt).toISOString(),
  };
}

/** A query parameter given exactly once; anything else is a 400. */
function singleQuery(ctx: Context, name: string): string {
  const value = ctx.query[name];
  if (typeof value !== 'string' || value === '') {
    throw createHttpError(400, `query parameter ${name} is required, once`, { code: 'invalid_request' });
  }
  return value;
}

const mapPhoneErrors: Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    if (error instanceof PhoneRuleError) throw createHttpError(409, error.message, { code: error.rule });
    if (error instanceof PushFailedError) {
      ctx.state.logger.warn({ err: error }, 'sandbox phone: push failed');
      throw createHttpError(502, `推送失败：${error.message}`, { code: 'push_failed' });
    }
    throw error;
  }
};
