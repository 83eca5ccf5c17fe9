import Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountConflictField } from '../accounts/AccountConflictError';
import type { AccountService } from '../accounts/AccountService';
import type { AuditLog } from '../audit/AuditLog';
import type { BindingStore } from '../binding/BindingStore';
import type { CaptchaService } from '../captcha/CaptchaService';
import type { Clock } from '../clock/Clock';
import type { H5Renderer } from '../h5/H5Renderer';
import { captchaScope } from '../h5/captchaRoute';
import { sessionOf } from '../h5/session/h5Session';
import { clientContext } from '../http/clientContext';
import type { Logger } from '../logging/createLogger';
import { retryAfterText, type FormAttemptLimiter } from '../security/FormAttemptLimiter';
import { maskIdNumber, maskPhone } from '../security/masking';
import { SmsDeliveryError } from '../sms/SmsDeliveryError';
import { SMS_NOT_DELIVERED, smsRefusalText } from '../sms/smsSendMessages';
import type { SmsCodeService } from '../sms/SmsCodeService';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import { sendCustomerNotice } from '../wechat/sendCustomerNotice';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import { chinaDate } from './gb11643';
import { checkMobileNumber } from './mobileNumber';
import type { RegistrationService } from './RegistrationService';
import {
  validateRegistration,
  type RegistrationErrors,
  type RegistrationInput,
  type RedisplayValues,
} from './registrationForm';

export interface RegisterRoutesDependencies {
  renderer: H5Renderer;
  accounts: AccountService;
  bindings: BindingStore;
  registration: RegistrationService;
  captcha: CaptchaService;
  smsCodes: SmsCodeService;
  audit: AuditLog;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  clock: Clock;
  logger: Logger;
  /** Caps 获取验证码 (each spends an image captcha) and 注册 attempts per WeChat user and per IP (ASVS V6.3.1). */
  attempts: FormAttemptLimiter;
}

/** The text fields of the form; the passwords are never shown again. */
const TEXT_FIELDS = ['realName', 'idNumber', 'phone', 'smsCode'] as const;

const TAKEN: Record<AccountConflictField, { field: 'idNumber' | 'phone'; message: string }> = {
  idNumber: { field: 'idNumber', message: '该身份证号码已注册实名账号。如是本人账号，请使用“实名绑定”。' },
  // The login name is the ID number, so a login name taken is that ID number taken.
  loginName: { field: 'idNumber', message: '该身份证号码已注册实名账号。如是本人账号，请使用“实名绑定”。' },
  phone: { field: 'phone', message: '该手机号码已注册实名账号，请更换手机号码，或使用“实名绑定”。' },
};

/** A form field as posted, untrimmed ('' when absent or not a string). */
const posted = (ctx: Context, name: string): string => {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/**
 * 实名注册 (/h5/register): one form — 姓名, 身份证号码, 手机号码, 验证码 (image), 短信验证码 with
 * 获取验证码, 登录密码, 确认密码 and 注册 — working without JavaScript:
 *
 * - 获取验证码 submits the whole form to /h5/register/sms, which checks the phone's format, spends the
 *   image captcha, sends the SMS code and shows the form again with the values kept (never the
 *   passwords) and a new image captcha. Every SMS costs an image captcha. A phone that already has
 *   an account is sent a notice saying so (实名绑定, 忘记密码) instead of a code, and the page answers
 *   as for any phone: nothing here tells the form's holder whether a number is registered.
 * - Nor is the ID number's: its uniqueness is told only after the SMS code (proof of the phone) and
 *   the identity verifier, by the transaction.
 * - 注册 posts to /h5/register: every format check at once (each message next to its field); then
 *   the SMS code (single use, so checked after the formats, which therefore never burn it); then the
 *   identity verifier and one transaction creating the account and binding this WeChat. The image
 *   captcha is not asked again: 注册 cannot get past the SMS code without a code that cost one.
 *
 * A WeChat already bound sees its account instead of the form. Every refusal is audited
 * (`register_failed` with the reason) and stores nothing.
 */
export function registerRoutes(deps: RegisterRoutesDependencies): Router {
  const router = new Router();
  const { renderer, accounts, bindings } = deps;

  const fail = (ctx: Context, reason: string, detail: Record<string, unknown> = {}) =>
    deps.audit.record({
      type: 'register_failed',
      openid: sessionOf(ctx).openid ?? null,
      ...clientContext(ctx),
      detail: { reason, ...detail },
    });

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

  /** The account this WeChat is bound to, if any. */
  const boundAccount = async (ctx: Context) => {
    const binding = await bindings.findByOpenid(sessionOf(ctx).openid!);
    return binding ? accounts.findById(binding.accountId) : null;
  };

  const redisplay = (ctx: Context) =>
    Object.fromEntries(TEXT_FIELDS.map((name) => [name, posted(ctx, name).trim()])) as unknown as RedisplayValues;

  router.get('/h5/register', async (ctx) => {
    const account = await boundAccount(ctx);
    if (account) {
      renderer.render(ctx, 'register-bound', { account: accounts.toPublic(account) });
      return;
    }
    renderForm(ctx, {});
  });

  // 获取验证码
  router.post('/h5/register/sms', async (ctx) => {
    if (await boundAccount(ctx)) {
      ctx.redirect('/h5/register');
      return;
    }
    const values = { ...redisplay(ctx), smsCode: '' };
    const verdict = await deps.attempts.attempt('register-sms', { openid: sessionOf(ctx).openid!, ip: ctx.ip });
    if (!verdict.allowed) {
      if (verdict.firstRefusal) await fail(ctx, 'too_many_attempts');
      ctx.set('Retry-After', String(verdict.retryAfterSeconds));
      renderForm(ctx, { values, errors: { captcha: retryAfterText(verdict.retryAfterSeconds) } }, 429);
      return;
    }
    const errors: RegistrationErrors = {};
    const mobile = checkMobileNumber(values.phone);
    if (mobile.ok) values.phone = mobile.phone;
    else errors.phone = mobile.message;
    const captcha = posted(ctx, 'captcha').trim();
    // Spent whatever else is wrong: the form comes back with a new image either way.
    if (!captcha) errors.captcha = '请输入图形验证码';
    else if (!(await deps.captcha.consume(captchaScope(ctx, 'register'), captcha))) {
      errors.captcha = '验证码错误，请重新输入';
      await fail(ctx, 'captcha_wrong');
    }
    if (Object.keys(errors).length > 0) {
      renderForm(ctx, { values, errors }, 400);
      return;
    }
    // Whether the phone has an account is told only to the phone: it gets a notice instead of a
    // code, through the same limits, and this page answers exactly as for any other phone.
    const taken = await deps.registration.phoneTaken(values.phone);
    let sent;
    try {
      sent = await deps.smsCodes.send({
        phone: values.phone,
        purpose: 'register',
        ip: ctx.ip,
        requester: sessionOf(ctx).openid!,
        content: taken ? 'account_exists' : 'code',
      });
    } catch (error) {
      if (!(error instanceof SmsDeliveryError)) throw error;
      deps.logger.warn({ err: error }, 'register SMS not delivered');
      renderForm(ctx, { values, errors: { smsCode: SMS_NOT_DELIVERED } }, 502);
      return;
    }
    if (!sent.ok) {
      await fail(ctx, `sms_${sent.reason}`, { phone: maskPhone(values.phone) });
      renderForm(ctx, { values, errors: { smsCode: smsRefusalText(sent.reason, sent.retryAfterSeconds) } }, 429);
      return;
    }
    // Logged, not audited: a row written on this path alone would make it measurably slower.
    if (taken)
      deps.logger.info({ phone: maskPhone(values.phone) }, 'register: account-exists SMS sent instead of a code');
    renderForm(ctx, { values, notice: `验证码已发送至 ${maskPhone(values.phone)}，5分钟内有效。` });
  });

  // 注册
  router.post('/h5/register', async (ctx) => {
    if (await boundAccount(ctx)) {
      ctx.redirect('/h5/register');
      return;
    }
    // Counted before anything is checked: each 注册 is a guess at an SMS code, so a flood of them
    // (and of the audit rows and format checks they cost) stops here.
    const attempt = await deps.attempts.attempt('register', { openid: sessionOf(ctx).openid!, ip: ctx.ip });
    if (!attempt.allowed) {
      if (attempt.firstRefusal) await fail(ctx, 'too_many_attempts');
      ctx.set('Retry-After', String(attempt.retryAfterSeconds));
      renderForm(
        ctx,
        { values: { ...redisplay(ctx), smsCode: '' }, errors: { form: retryAfterText(attempt.retryAfterSeconds) } },
        429,
      );
      return;
    }
    const input = Object.fromEntries(
      (['realName', 'idNumber', 'phone', 'smsCode', 'password', 'confirmPassword'] as const).map((name) => [
        name,
        posted(ctx, name),
      ]),
    ) as unknown as RegistrationInput;
    const checked = validateRegistration(input, chinaDate(deps.clock.now()));
    if (!checked.ok) {
      await fail(ctx, 'invalid_form', { fields: Object.keys(checked.errors) });
      renderForm(ctx, { values: checked.values, errors: checked.errors }, 400);
      return;
    }
    const { registration } = checked;
    // From here on the SMS code is spent: later refusals ask for a new one.
    const values = { ...checked.values, smsCode: '' };
    const verdict = await deps.smsCodes.verify({
      phone: registration.phone,
      purpose: 'register',
      code: registration.smsCode,
      requester: sessionOf(ctx).openid!,
    });
    if (verdict !== 'ok') {
      await fail(ctx, verdict === 'wrong' ? 'sms_wrong' : 'sms_expired', { phone: maskPhone(registration.phone) });
      renderForm(
        ctx,
        {
          values,
          errors: { smsCode: verdict === 'wrong' ? '短信验证码错误' : '短信验证码已失效，请重新获取' },
        },
        400,
      );
      return;
    }
    const openid = sessionOf(ctx).openid!;
    const result = await deps.registration.register({
      realName: registration.realName,
      idNumber: registration.idNumber,
      phone: registration.phone,
      password: registration.password,
      openid,
      context: clientContext(ctx),
    });
    if (!result.ok) {
      if (result.reason === 'wechat_already_bound') {
        await fail(ctx, 'wechat_already_bound');
        ctx.redirect('/h5/register');
        return;
      }
      if (result.reason === 'taken') {
        await fail(
          ctx,
          `${result.field === 'idNumber' ? 'id_number' : result.field === 'loginName' ? 'login_name' : 'phone'}_taken`,
          {
            idNumber: maskIdNumber(registration.idNumber),
            phone: maskPhone(registration.phone),
          },
        );
        const taken = TAKEN[result.field];
        renderForm(ctx, { values, errors: { [taken.field]: taken.message } }, 409);
        return;
      }
      await fail(ctx, 'identity_refused', { detail: result.detail });
      renderForm(ctx, { values, errors: { [result.field]: result.message } }, 422);
      return;
    }
    const loginName = maskIdNumber(registration.idNumber);
    sendCustomerNotice(deps, openid, deps.templates.render('registered', { loginName }), 'registration');
    ctx.redirect('/h5/register/done');
  });

  router.get('/h5/register/done', async (ctx) => {
    const account = await boundAccount(ctx);
    if (!account) {
      ctx.redirect('/h5/register');
      return;
    }
    renderer.render(ctx, 'register-done', { account: accounts.toPublic(account) });
  });

  return router;
}
