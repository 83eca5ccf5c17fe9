import Router from '@koa/router';
import type { Context } from 'koa';
import type { H5Renderer } from '../h5/H5Renderer';
import { captchaScope } from '../h5/captchaRoute';
import { sessionOf } from '../h5/session/h5Session';
import { clientContext } from '../http/clientContext';
import { retryAfterText, type FormAttemptLimiter } from '../security/FormAttemptLimiter';
import type { SmsCodeStep } from '../sms/SmsCodeStep';
import type { PasswordService } from './PasswordService';
import { CODE_INVALID, PHONE_CHANGED, RESET_EXPIRED, codeSentText } from './passwordTexts';

export interface ForgotPasswordRoutesDependencies {
  renderer: H5Renderer;
  passwords: PasswordService;
  smsStep: SmsCodeStep;
  /** Caps each step's attempts per WeChat user and per IP (ASVS V6.3.1). */
  attempts: FormAttemptLimiter;
}

type Errors = Partial<
  Record<'realName' | 'idNumber' | 'captcha' | 'smsCode' | 'password' | 'confirmPassword' | 'form', string>
>;

const posted = (ctx: Context, name: string): string => {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/**
 * 忘记密码 (/h5/password/forgot), linked from 实名绑定's 登录 step: 姓名 + 身份证号码 + 验证码 → an
 * SMS code to the account's registered mobile number → 新密码 twice → done. The recovery itself
 * (PasswordService) lives in Redis; the session holds only its id.
 */
export function forgotPasswordRoutes(deps: ForgotPasswordRoutesDependencies): Router {
  const router = new Router();
  const { renderer, passwords } = deps;

  const renderIdentity = (ctx: Context, values: Record<string, string>, errors: Errors, status = 200) =>
    renderer.render(ctx, 'password-forgot', { values, errors, phoneChanged: PHONE_CHANGED }, status);
  const renderCode = (ctx: Context, errors: Errors, status = 200) =>
    renderer.render(
      ctx,
      'password-code',
      { notice: codeSentText(sessionOf(ctx).passwordReset?.phoneMasked ?? null), errors, phoneChanged: PHONE_CHANGED },
      status,
    );
  const renderNewPassword = (ctx: Context, errors: Errors, status = 200) =>
    renderer.render(ctx, 'password-new', { errors }, status);

  /** Counts one attempt at `form`; false (and the refusal rendered) when over the limit. */
  const allowed = async (
    ctx: Context,
    form: 'password-forgot' | 'password-code',
    render: (e: Errors, s: number) => void,
  ) => {
    const verdict = await deps.attempts.attempt(form, { openid: sessionOf(ctx).openid!, ip: ctx.ip });
    if (verdict.allowed) return true;
    ctx.set('Retry-After', String(verdict.retryAfterSeconds));
    render({ form: retryAfterText(verdict.retryAfterSeconds) }, 429);
    return false;
  };

  const restart = (ctx: Context, message?: string) => {
    delete sessionOf(ctx).passwordReset;
    ctx.state.session.touch();
    renderIdentity(ctx, {}, message ? { form: message } : {}, message ? 410 : 200);
  };

  router.get('/h5/password/forgot', async (ctx) => {
    const reset = sessionOf(ctx).passwordReset;
    if (!reset) {
      renderIdentity(ctx, {}, {});
      return;
    }
    if (await passwords.isVerified(reset.id)) renderNewPassword(ctx, {});
    else renderCode(ctx, {});
  });

  router.post('/h5/password/forgot', async (ctx) => {
    const session = sessionOf(ctx);
    const values = { realName: posted(ctx, 'realName').trim(), idNumber: posted(ctx, 'idNumber').trim() };
    if (!(await allowed(ctx, 'password-forgot', (errors, status) => renderIdentity(ctx, values, errors, status))))
      return;
    const context = { ...clientContext(ctx), openid: session.openid! };
    const refusal = await deps.smsStep.spendCaptcha(captchaScope(ctx, 'password-forgot'), posted(ctx, 'captcha'), {
      type: 'password_reset_failed',
      openid: session.openid!,
      ip: context.ip,
      userAgent: context.userAgent,
      detail: { via: 'h5' },
    });
    if (refusal) {
      renderIdentity(ctx, values, { [refusal.field]: refusal.message }, refusal.status);
      return;
    }
    const started = await passwords.startReset({
      ...values,
      channel: { via: 'h5', openid: session.openid! },
      context,
    });
    if (!started.ok) {
      if (started.reason === 'too_many_attempts') {
        ctx.set('Retry-After', String(started.retryAfterSeconds));
        renderIdentity(ctx, values, { form: retryAfterText(started.retryAfterSeconds) }, 429);
      } else renderIdentity(ctx, values, started.errors, 400);
      return;
    }
    session.passwordReset = { id: started.resetId, phoneMasked: started.phoneMasked };
    ctx.state.session.touch();
    ctx.redirect('/h5/password/forgot');
  });

  router.post('/h5/password/forgot/restart', (ctx) => {
    delete sessionOf(ctx).passwordReset;
    ctx.state.session.touch();
    ctx.redirect('/h5/password/forgot');
  });

  router.post('/h5/password/forgot/code', async (ctx) => {
    const reset = sessionOf(ctx).passwordReset;
    if (!reset) {
      restart(ctx, RESET_EXPIRED);
      return;
    }
    if (!(await allowed(ctx, 'password-code', (errors, status) => renderCode(ctx, errors, status)))) return;
    const code = posted(ctx, 'smsCode').trim();
    if (!/^\d{6}$/.test(code)) {
      renderCode(ctx, { smsCode: '请输入6位短信验证码' }, 400);
      return;
    }
    const verdict = await passwords.verifyCode(reset.id, code);
    if (verdict === 'reset_expired') {
      restart(ctx, RESET_EXPIRED);
      return;
    }
    if (verdict === 'invalid_code') {
      renderCode(ctx, { smsCode: CODE_INVALID }, 400);
      return;
    }
    // A new session id once the phone is proven, as after every step that raises what the session may do.
    await ctx.state.session.regenerate();
    ctx.redirect('/h5/password/forgot');
  });

  router.post('/h5/password/forgot/password', async (ctx) => {
    const session = sessionOf(ctx);
    const reset = session.passwordReset;
    if (!reset) {
      restart(ctx, RESET_EXPIRED);
      return;
    }
    const password = posted(ctx, 'password');
    const confirmPassword = posted(ctx, 'confirmPassword');
    if (!confirmPassword) {
      renderNewPassword(ctx, { confirmPassword: '请再次输入新密码' }, 400);
      return;
    }
    if (password !== confirmPassword) {
      renderNewPassword(ctx, { confirmPassword: '两次输入的新密码不一致' }, 400);
      return;
    }
    const done = await passwords.completeReset({
      resetId: reset.id,
      password,
      channel: { via: 'h5', openid: session.openid! },
      context: { ...clientContext(ctx), openid: session.openid! },
    });
    if (!done.ok) {
      if (done.reason === 'weak_password') renderNewPassword(ctx, { password: done.message }, 400);
      else if (done.reason === 'not_verified') renderCode(ctx, {}, 409);
      else restart(ctx, RESET_EXPIRED);
      return;
    }
    delete session.passwordReset;
    delete session.bind;
    ctx.state.session.touch();
    ctx.redirect('/h5/password/forgot/done');
  });

  router.get('/h5/password/forgot/done', (ctx) => {
    renderer.render(ctx, 'password-done', {});
  });

  return router;
}
