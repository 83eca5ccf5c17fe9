import Router from '@koa/router';
import type { Context } from 'koa';
import type { H5Renderer } from '../h5/H5Renderer';
import { captchaScope } from '../h5/captchaRoute';
import { sessionOf } from '../h5/session/h5Session';
import { clientContext } from '../http/clientContext';
import type { RegistrationClient, RegistrationFlow, RegistrationRefusal } from './RegistrationFlow';
import type { RegistrationErrors, RegistrationInput, RedisplayValues } from './registrationForm';

export interface RegisterRoutesDependencies {
  renderer: H5Renderer;
  flow: RegistrationFlow;
}

/** The text fields of the form; the passwords are never shown again. */
const TEXT_FIELDS = ['realName', 'idNumber', 'phone', 'smsCode'] as const;
const INPUT_FIELDS = [...TEXT_FIELDS, 'password', 'confirmPassword'] as const;

/** A form field as posted, untrimmed ('' when absent or not a string). */
const posted = (ctx: Context, name: string): string => {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

const clientOf = (ctx: Context): RegistrationClient => ({ ...clientContext(ctx), openid: sessionOf(ctx).openid! });

/**
 * 实名注册 (/h5/register): one form — 姓名, 身份证号码, 手机号码, 验证码 (image), 短信验证码 with
 * 获取验证码, 登录密码, 确认密码 and 注册 — working without JavaScript. 获取验证码 submits the whole
 * form to /h5/register/sms, which shows the form again with the values kept (never the passwords)
 * and a new image captcha; 注册 posts to /h5/register. Each route reads the form, calls one step of
 * RegistrationFlow and renders its answer. A WeChat already bound sees its account instead of the form.
 */
export function registerRoutes(deps: RegisterRoutesDependencies): Router {
  const router = new Router();
  const { renderer, flow } = deps;

  const renderForm = (
    ctx: Context,
    view: { values?: Partial<RedisplayValues>; errors?: RegistrationErrors; notice?: string },
    status = 200,
  ) => {
    renderer.render(
      ctx,
      'register',
      { values: view.values ?? {}, errors: view.errors ?? {}, notice: view.notice },
      status,
    );
  };

  const renderRefusal = (ctx: Context, refused: RegistrationRefusal) => {
    if (refused.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(refused.retryAfterSeconds));
    renderForm(ctx, { values: refused.values, errors: refused.errors }, refused.status);
  };

  const isBound = async (ctx: Context) => (await flow.boundAccount(sessionOf(ctx).openid!)) !== null;

  router.get('/h5/register', async (ctx) => {
    const bound = await flow.boundAccount(sessionOf(ctx).openid!);
    if (bound) {
      renderer.render(ctx, 'register-bound', { account: bound });
      return;
    }
    renderForm(ctx, {});
  });

  // 获取验证码
  router.post('/h5/register/sms', async (ctx) => {
    if (await isBound(ctx)) {
      ctx.redirect('/h5/register');
      return;
    }
    const typed = Object.fromEntries(
      TEXT_FIELDS.map((name) => [name, posted(ctx, name).trim()]),
    ) as unknown as RedisplayValues;
    const sent = await flow.sendCode(clientOf(ctx), typed, {
      scope: captchaScope(ctx, 'register'),
      answer: posted(ctx, 'captcha'),
    });
    if (!sent.ok) {
      renderRefusal(ctx, sent);
      return;
    }
    renderForm(ctx, { values: sent.values, notice: sent.notice });
  });

  // 注册
  router.post('/h5/register', async (ctx) => {
    if (await isBound(ctx)) {
      ctx.redirect('/h5/register');
      return;
    }
    const input = Object.fromEntries(
      INPUT_FIELDS.map((name) => [name, posted(ctx, name)]),
    ) as unknown as RegistrationInput;
    const result = await flow.register(clientOf(ctx), input);
    if (!result.ok) {
      if ('alreadyBound' in result) ctx.redirect('/h5/register');
      else renderRefusal(ctx, result);
      return;
    }
    ctx.redirect('/h5/register/done');
  });

  router.get('/h5/register/done', async (ctx) => {
    const bound = await flow.boundAccount(sessionOf(ctx).openid!);
    if (!bound) {
      ctx.redirect('/h5/register');
      return;
    }
    renderer.render(ctx, 'register-done', { account: bound });
  });

  return router;
}
