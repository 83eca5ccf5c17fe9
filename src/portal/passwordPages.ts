import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { CaptchaService } from '../captcha/CaptchaService';
import type { Clock } from '../clock/Clock';
import { PHONE_CHANGED, CODE_INVALID, RESET_EXPIRED, codeSentText } from '../password/passwordTexts';
import { PortalApiError, type PortalAccount, type PortalApiClient, type ReportedBrowser } from './PortalApiClient';
import type { PortalRenderer } from './PortalRenderer';
import { sessionFor } from './portalSession';

export interface PasswordPagesOptions {
  api: PortalApiClient;
  renderer: PortalRenderer;
  captcha: CaptchaService;
  clock: Clock;
  /** The captcha scope of a portal form in this session. */
  captchaScope: (ctx: Context, form: 'forgot') => string;
  requireLogin: Middleware;
  browserOf: (ctx: Context) => ReportedBrowser;
  accountOf: (ctx: Context) => PortalAccount;
}

type Errors = Partial<
  Record<
    'realName' | 'idNumber' | 'captcha' | 'smsCode' | 'currentPassword' | 'newPassword' | 'confirmPassword' | 'form',
    string
  >
>;

const field = (ctx: Context, name: string): string => {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

const seeOther = (ctx: Context, location: string) => {
  ctx.status = 303;
  ctx.redirect(location);
};

/** The API refused with one of `codes` (a 4xx); anything else is thrown on to the error page. */
function refusal(error: unknown, ...codes: string[]): PortalApiError {
  if (error instanceof PortalApiError && error.status < 500 && codes.includes(error.code)) return error;
  throw error;
}

/**
 * 忘记密码 (linked from 实名用户登录) and 设置 → 修改密码, on the public API's password calls. The
 * portal spends its own image captcha before asking the API to send a code.
 */
export function passwordPages(router: Router, options: PasswordPagesOptions): void {
  const { api, renderer, captcha, clock } = options;

  const renderForgot = (ctx: Context, view: { values?: Record<string, string>; errors?: Errors }, status = 200) => {
    const reset = sessionFor(ctx).passwordReset;
    const stage = !reset ? 'identity' : reset.verified ? 'password' : 'code';
    renderer.render(
      ctx,
      'password-forgot',
      {
        title: '忘记密码',
        nav: 'login',
        stage,
        notice: stage === 'code' ? codeSentText(reset!.phoneMasked) : null,
        values: view.values ?? {},
        errors: view.errors ?? {},
        phoneChanged: PHONE_CHANGED,
        captchaNonce: clock.now().toString(36),
      },
      status,
    );
  };

  const startOver = (ctx: Context) => {
    delete sessionFor(ctx).passwordReset;
    renderForgot(ctx, { errors: { form: RESET_EXPIRED } }, 410);
  };

  router.get('/password/forgot', (ctx) => {
    renderForgot(ctx, {});
  });

  router.post('/password/forgot', async (ctx) => {
    const values = { realName: field(ctx, 'realName').trim(), idNumber: field(ctx, 'idNumber').trim() };
    const errors: Errors = {};
    if (!values.realName) errors.realName = '请输入姓名';
    if (!values.idNumber) errors.idNumber = '请输入身份证号码';
    const answer = field(ctx, 'captcha').trim();
    // Spent on every try, right or wrong, before the API is asked for anything.
    if (!answer) errors.captcha = '请输入验证码';
    else if (!(await captcha.consume(options.captchaScope(ctx, 'forgot'), answer)))
      errors.captcha = '验证码错误或已过期，请重新输入';
    if (Object.keys(errors).length > 0) {
      renderForgot(ctx, { values, errors }, 400);
      return;
    }
    try {
      const started = await api.startPasswordReset(values, options.browserOf(ctx));
      sessionFor(ctx).passwordReset = { id: started.resetId, phoneMasked: started.phoneMasked, verified: false };
      seeOther(ctx, '/portal/password/forgot');
    } catch (error) {
      const refused = refusal(error, 'invalid_identity', 'too_many_attempts');
      const message =
        refused.code === 'too_many_attempts'
          ? `尝试次数过多，请 ${Math.max(1, Math.ceil((refused.retryAfterSeconds ?? 3600) / 60))} 分钟后再试。`
          : refused.message;
      renderForgot(ctx, { values, errors: { form: message } }, refused.status);
    }
  });

  router.post('/password/forgot/restart', (ctx) => {
    delete sessionFor(ctx).passwordReset;
    seeOther(ctx, '/portal/password/forgot');
  });

  router.post('/password/forgot/code', async (ctx) => {
    const reset = sessionFor(ctx).passwordReset;
    if (!reset) {
      startOver(ctx);
      return;
    }
    const smsCode = field(ctx, 'smsCode').trim();
    if (!/^\d{6}$/.test(smsCode)) {
      renderForgot(ctx, { errors: { smsCode: '请输入6位短信验证码' } }, 400);
      return;
    }
    try {
      await api.verifyPasswordReset(reset.id, smsCode);
      reset.verified = true;
      await ctx.state.portalSession.regenerate();
      seeOther(ctx, '/portal/password/forgot');
    } catch (error) {
      if (refusal(error, 'invalid_sms_code', 'reset_not_found').code === 'reset_not_found') startOver(ctx);
      else renderForgot(ctx, { errors: { smsCode: CODE_INVALID } }, 400);
    }
  });

  router.post('/password/forgot/password', async (ctx) => {
    const reset = sessionFor(ctx).passwordReset;
    if (!reset) {
      startOver(ctx);
      return;
    }
    const newPassword = field(ctx, 'newPassword');
    const confirmPassword = field(ctx, 'confirmPassword');
    if (!newPassword || newPassword !== confirmPassword) {
      const errors: Errors = !newPassword
        ? { newPassword: '请输入新密码' }
        : { confirmPassword: '两次输入的新密码不一致' };
      renderForgot(ctx, { errors }, 400);
      return;
    }
    try {
      await api.completePasswordReset(reset.id, newPassword, options.browserOf(ctx));
      // A fresh session: had this one been logged in to the account, the reset ended it already.
      await ctx.state.portalSession.destroy();
      sessionFor(ctx).flash = { kind: 'success', text: '登录密码已重置，请使用新密码登录。' };
      seeOther(ctx, '/portal/login?tab=password');
    } catch (error) {
      const refused = refusal(error, 'weak_password', 'reset_not_verified', 'reset_not_found');
      if (refused.code === 'weak_password') renderForgot(ctx, { errors: { newPassword: refused.message } }, 422);
      else startOver(ctx);
    }
  });

  const renderChange = (ctx: Context, errors: Errors, status = 200) =>
    renderer.render(
      ctx,
      'password-change',
      {
        title: '修改密码',
        nav: 'personal',
        side: 'settings',
        settingsTab: 'password',
        errors,
        phoneChanged: PHONE_CHANGED,
      },
      status,
    );

  router.get('/settings/password', options.requireLogin, (ctx) => {
    renderChange(ctx, {});
  });

  router.post('/settings/password', options.requireLogin, async (ctx) => {
    const currentPassword = field(ctx, 'currentPassword');
    const newPassword = field(ctx, 'newPassword');
    const confirmPassword = field(ctx, 'confirmPassword');
    const errors: Errors = {};
    if (!currentPassword) errors.currentPassword = '请输入原密码';
    if (!newPassword) errors.newPassword = '请输入新密码';
    else if (newPassword !== confirmPassword) errors.confirmPassword = '两次输入的新密码不一致';
    if (Object.keys(errors).length > 0) {
      renderChange(ctx, errors, 400);
      return;
    }
    try {
      await api.changePassword(options.accountOf(ctx).id, { currentPassword, newPassword }, options.browserOf(ctx));
    } catch (error) {
      const refused = refusal(error, 'invalid_credentials', 'too_many_attempts', 'weak_password');
      if (refused.code === 'weak_password') renderChange(ctx, { newPassword: refused.message }, 422);
      else if (refused.code === 'too_many_attempts')
        renderChange(ctx, { form: '原密码错误次数过多，请稍后再试。' }, 429);
      else renderChange(ctx, { currentPassword: '原密码错误' }, 401);
      return;
    }
    // The service has ended every session of the account, this one included: it must not be written back.
    await ctx.state.portalSession.destroy();
    sessionFor(ctx).flash = { kind: 'success', text: '登录密码已修改，请使用新密码重新登录。' };
    seeOther(ctx, '/portal/login?tab=password');
  });
}
