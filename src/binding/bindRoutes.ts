import Router from '@koa/router';
import type { Context } from 'koa';
import type { H5Renderer } from '../h5/H5Renderer';
import { captchaScope } from '../h5/captchaRoute';
import { sessionOf } from '../h5/session/h5Session';
import { clientContext } from '../http/clientContext';
import { maskPhone } from '../security/masking';
import { codeSentNotice } from '../sms/smsSendMessages';
import type { BindClient, BindErrors, BindFlow, BindRestart } from './BindFlow';

export interface BindRoutesDependencies {
  renderer: H5Renderer;
  flow: BindFlow;
}

/** A form field as posted, trimmed ('' when absent or not a string). */
const field = (ctx: Context, name: string): string => {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
};

const clientOf = (ctx: Context): BindClient => ({ ...clientContext(ctx), openid: sessionOf(ctx).openid! });

/**
 * 实名绑定 (/h5/bind): step 1 登录账号 + 登录密码 + 验证码 → 登录; step 2 手机号码 + 短信验证码
 * (获取验证码 asks for an image captcha first) → 确定绑定; then 绑定成功. Runs behind the H5
 * session, OAuth guard and CSRF check. Each route reads the form, calls one step of BindFlow and
 * renders its answer (a refusal re-renders the form with the message next to its field); the
 * session keeps which account passed 登录 and the phone the code goes to.
 */
export function bindRoutes(deps: BindRoutesDependencies): Router {
  const router = new Router();
  const { renderer, flow } = deps;

  const pendingAccount = (ctx: Context) => flow.pendingAccount(sessionOf(ctx).bind);

  const renderPhoneStep = async (
    ctx: Context,
    extra: { values?: Record<string, string>; errors?: BindErrors; notice?: string },
    status = 200,
  ) => {
    const account = await pendingAccount(ctx);
    if (!account) {
      renderer.render(ctx, 'bind-login', { values: {}, errors: { form: '登录已超时，请重新登录。' } }, 401);
      return;
    }
    renderer.render(
      ctx,
      'bind-phone',
      { account: flow.toPublic(account), values: extra.values ?? {}, errors: extra.errors ?? {}, notice: extra.notice },
      status,
    );
  };

  /** Too many phones that were not the account's: 登录 is cleared and the taxpayer starts again from it. */
  const restart = (ctx: Context, refused: BindRestart) => {
    const session = sessionOf(ctx);
    delete session.bind;
    delete session.smsPhone;
    ctx.state.session.touch();
    ctx.set('Retry-After', String(refused.retryAfterSeconds));
    renderer.render(ctx, 'bind-login', { values: {}, errors: { form: refused.message } }, 429);
  };

  const retryAfter = (ctx: Context, refused: { retryAfterSeconds?: number }) => {
    if (refused.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(refused.retryAfterSeconds));
  };

  router.get('/h5/bind', async (ctx) => {
    const session = sessionOf(ctx);
    const bound = await flow.boundAccount(session.openid!);
    if (bound) {
      renderer.render(ctx, 'bind-bound', { account: bound });
      return;
    }
    if (await pendingAccount(ctx)) {
      const notice = session.smsPhone && ctx.query.sent === '1' ? codeSentNotice(session.smsPhone) : undefined;
      await renderPhoneStep(ctx, { values: { phone: session.smsPhone ?? '' }, ...(notice ? { notice } : {}) });
      return;
    }
    renderer.render(ctx, 'bind-login', { values: {}, errors: {} });
  });

  router.post('/h5/bind/login', async (ctx) => {
    const session = sessionOf(ctx);
    const values = { loginName: field(ctx, 'loginName') };
    // The password as typed: spaces may be part of it.
    const password = (ctx.request.body as Record<string, unknown> | undefined)?.password;
    const result = await flow.login(
      clientOf(ctx),
      { ...values, password: typeof password === 'string' ? password : '', captcha: field(ctx, 'captcha') },
      captchaScope(ctx, 'bind-login'),
    );
    if (!result.ok) {
      retryAfter(ctx, result);
      renderer.render(ctx, 'bind-login', { values, errors: result.errors }, result.status);
      return;
    }
    session.bind = result.pending;
    delete session.smsPhone;
    await ctx.state.session.regenerate();
    ctx.redirect('/h5/bind');
  });

  // 获取验证码: checks the phone, then asks for an image captcha before anything is sent.
  router.post('/h5/bind/sms', async (ctx) => {
    const account = await pendingAccount(ctx);
    if (!account) {
      await renderPhoneStep(ctx, {});
      return;
    }
    const typed = field(ctx, 'phone');
    const checked = await flow.checkPhone(clientOf(ctx), account, typed);
    if (!checked.ok) {
      if ('restart' in checked) restart(ctx, checked);
      else await renderPhoneStep(ctx, { values: { phone: checked.phone ?? typed }, errors: checked.errors }, 400);
      return;
    }
    sessionOf(ctx).smsPhone = checked.phone;
    ctx.state.session.touch();
    ctx.redirect('/h5/bind/sms');
  });

  router.get('/h5/bind/sms', async (ctx) => {
    const phone = sessionOf(ctx).smsPhone;
    if (!(await pendingAccount(ctx)) || !phone) {
      ctx.redirect('/h5/bind');
      return;
    }
    renderer.render(ctx, 'bind-sms-captcha', { phoneMasked: maskPhone(phone), errors: {} });
  });

  router.post('/h5/bind/sms/send', async (ctx) => {
    const phone = sessionOf(ctx).smsPhone;
    const account = await pendingAccount(ctx);
    if (!account || !phone) {
      ctx.redirect('/h5/bind');
      return;
    }
    const sent = await flow.sendCode(clientOf(ctx), account, phone, {
      scope: captchaScope(ctx, 'bind-sms'),
      answer: field(ctx, 'captcha'),
    });
    if (!sent.ok) {
      retryAfter(ctx, sent);
      if (sent.field === 'captcha')
        renderer.render(ctx, 'bind-sms-captcha', { phoneMasked: maskPhone(phone), errors: sent.errors }, sent.status);
      else await renderPhoneStep(ctx, { values: { phone }, errors: sent.errors }, sent.status);
      return;
    }
    ctx.redirect('/h5/bind?sent=1');
  });

  router.post('/h5/bind/confirm', async (ctx) => {
    const session = sessionOf(ctx);
    const account = await pendingAccount(ctx);
    if (!account) {
      await renderPhoneStep(ctx, {});
      return;
    }
    const values = { phone: field(ctx, 'phone') };
    const result = await flow.confirm(clientOf(ctx), account, { ...values, smsCode: field(ctx, 'smsCode') });
    if (!result.ok) {
      if ('alreadyBound' in result) ctx.redirect('/h5/bind');
      else if ('restart' in result) restart(ctx, result);
      else await renderPhoneStep(ctx, { values, errors: result.errors }, result.status);
      return;
    }
    delete session.bind;
    delete session.smsPhone;
    ctx.state.session.touch();
    ctx.redirect('/h5/bind/done');
  });

  router.get('/h5/bind/done', async (ctx) => {
    const bound = await flow.boundAccount(sessionOf(ctx).openid!);
    if (!bound) {
      ctx.redirect('/h5/bind');
      return;
    }
    renderer.render(ctx, 'bind-done', { account: bound });
  });

  return router;
}
