import Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountService } from '../accounts/AccountService';
import type { AuditLog } from '../audit/AuditLog';
import type { Clock } from '../clock/Clock';
import type { CaptchaService } from '../captcha/CaptchaService';
import type { H5Renderer } from '../h5/H5Renderer';
import { captchaScope } from '../h5/captchaRoute';
import { sessionOf } from '../h5/session/h5Session';
import { clientContext } from '../http/clientContext';
import type { Logger } from '../logging/createLogger';
import { retryAfterText, type FormAttemptLimiter } from '../security/FormAttemptLimiter';
import { maskPhone } from '../security/masking';
import { checkMobileNumber } from '../registration/mobileNumber';
import type { SmsCodeService } from '../sms/SmsCodeService';
import { SmsDeliveryError } from '../sms/SmsDeliveryError';
import { SMS_NOT_DELIVERED, smsRefusalText } from '../sms/smsSendMessages';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import { sendCustomerNotice } from '../wechat/sendCustomerNotice';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import type { BindingService } from './BindingService';
import type { BindingStore } from './BindingStore';

export interface BindRoutesDependencies {
  renderer: H5Renderer;
  accounts: AccountService;
  bindings: BindingStore;
  bindingService: BindingService;
  captcha: CaptchaService;
  smsCodes: SmsCodeService;
  audit: AuditLog;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  clock: Clock;
  logger: Logger;
  /** Caps 登录 and 获取验证码 attempts per WeChat user and per IP (ASVS V6.3.1). */
  attempts: FormAttemptLimiter;
}

type Errors = Partial<Record<'loginName' | 'password' | 'captcha' | 'phone' | 'smsCode' | 'form', string>>;

/** Step 1 (登录) is good for this long; after it the taxpayer must log in again. */
const STEP_ONE_VALID_MS = 15 * 60_000;

const PHONE_MISMATCH = '手机号码与账号预留的手机号码不一致';

const field = (ctx: Context, name: string): string => {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
};

/**
 * 实名绑定 (/h5/bind): step 1 登录账号 + 登录密码 + 验证码 → 登录; step 2 手机号码 + 短信验证码
 * (获取验证码 asks for an image captcha first) → 确定绑定; then 绑定成功. Runs behind the H5
 * session, OAuth guard and CSRF check; every refusal re-renders the form with the message next to
 * its field, is audited, and changes nothing.
 */
export function bindRoutes(deps: BindRoutesDependencies): Router {
  const router = new Router();
  const { renderer, accounts, bindings } = deps;

  const fail = async (ctx: Context, reason: string, accountId: string | null = null) => {
    const context = clientContext(ctx);
    await deps.audit.record({
      type: 'bind_failed',
      accountId,
      openid: sessionOf(ctx).openid ?? null,
      ...context,
      detail: { reason },
    });
  };

  /** The account that passed step 1 in this session, while that is recent enough. */
  const stepOneAccount = async (ctx: Context) => {
    const pending = sessionOf(ctx).bind;
    if (!pending || deps.clock.now() - pending.at > STEP_ONE_VALID_MS) return null;
    return accounts.findById(pending.accountId);
  };

  const renderPhoneStep = async (
    ctx: Context,
    extra: { values?: Record<string, string>; errors?: Errors; notice?: string },
    status = 200,
  ) => {
    const account = await stepOneAccount(ctx);
    if (!account) {
      renderer.render(ctx, 'bind-login', { values: {}, errors: { form: '登录已超时，请重新登录。' } }, 401);
      return;
    }
    renderer.render(
      ctx,
      'bind-phone',
      {
        account: accounts.toPublic(account),
        values: extra.values ?? {},
        errors: extra.errors ?? {},
        notice: extra.notice,
      },
      status,
    );
  };

  /**
   * A typed phone that is not the account's: each one is a guess at the digits the mask hides, so
   * they are counted (FormAttemptLimiter, 'bind-phone'); past the limit the 登录 step is cleared and
   * the taxpayer starts again from 登录.
   */
  const phoneMismatch = async (
    ctx: Context,
    accountId: string,
    page: { values: Record<string, string>; errors: Errors },
  ) => {
    const session = sessionOf(ctx);
    const verdict = await deps.attempts.attempt('bind-phone', { openid: session.openid!, ip: ctx.ip });
    if (verdict.allowed) {
      await fail(ctx, 'phone_mismatch', accountId);
      await renderPhoneStep(ctx, page, 400);
      return;
    }
    if (verdict.firstRefusal) await fail(ctx, 'too_many_attempts', accountId);
    delete session.bind;
    delete session.smsPhone;
    ctx.state.session.touch();
    ctx.set('Retry-After', String(verdict.retryAfterSeconds));
    const minutes = Math.max(1, Math.ceil(verdict.retryAfterSeconds / 60));
    renderer.render(
      ctx,
      'bind-login',
      { values: {}, errors: { form: `手机号码多次与账号预留的手机号码不一致，请 ${minutes} 分钟后重新登录并绑定。` } },
      429,
    );
  };

  router.get('/h5/bind', async (ctx) => {
    const session = sessionOf(ctx);
    const existing = await bindings.findByOpenid(session.openid!);
    if (existing) {
      const account = await accounts.findById(existing.accountId);
      if (account) {
        renderer.render(ctx, 'bind-bound', { account: accounts.toPublic(account) });
        return;
      }
    }
    if (await stepOneAccount(ctx)) {
      const notice =
        session.smsPhone && ctx.query.sent === '1'
          ? `验证码已发送至 ${maskPhone(session.smsPhone)}，5分钟内有效。`
          : undefined;
      await renderPhoneStep(ctx, { values: { phone: session.smsPhone ?? '' }, ...(notice ? { notice } : {}) });
      return;
    }
    renderer.render(ctx, 'bind-login', { values: {}, errors: {} });
  });

  router.post('/h5/bind/login', async (ctx) => {
    const session = sessionOf(ctx);
    const values = { loginName: field(ctx, 'loginName') };
    // Counted before anything is checked: a flood of guesses (captcha or password, one account or
    // many) stops here without spending a captcha, a password hash or an audit row per try.
    const verdict = await deps.attempts.attempt('bind-login', { openid: session.openid!, ip: ctx.ip });
    if (!verdict.allowed) {
      if (verdict.firstRefusal) await fail(ctx, 'too_many_attempts');
      ctx.set('Retry-After', String(verdict.retryAfterSeconds));
      renderer.render(ctx, 'bind-login', { values, errors: { form: retryAfterText(verdict.retryAfterSeconds) } }, 429);
      return;
    }
    const password =
      typeof (ctx.request.body as Record<string, unknown>)?.password === 'string'
        ? (ctx.request.body as Record<string, string>).password!
        : '';
    const captcha = field(ctx, 'captcha');
    const errors: Errors = {};
    if (!values.loginName) errors.loginName = '请输入登录账号';
    else if (values.loginName.length > 64) errors.loginName = '登录账号过长';
    if (!password) errors.password = '请输入登录密码';
    else if (password.length > 128) errors.password = '登录密码过长';
    if (!captcha) errors.captcha = '请输入验证码';
    // The captcha is checked (and spent) before the password, so guessing passwords costs a captcha each.
    if (captcha && !(await deps.captcha.consume(captchaScope(ctx, 'bind-login'), captcha))) {
      errors.captcha = '验证码错误，请重新输入';
      await fail(ctx, 'captcha_wrong');
    }
    if (Object.keys(errors).length > 0) {
      renderer.render(ctx, 'bind-login', { values, errors }, 400);
      return;
    }
    // The WeChat user is recorded (this authentication binds, it logs no portal in: 登录记录 tells them
    // apart), and it is the client whose failures are paced, not the IP a carrier shares among many.
    const result = await accounts.authenticate(values.loginName, password, {
      ...clientContext(ctx),
      openid: session.openid!,
    });
    if (!result.ok) {
      if (result.reason === 'too_many_attempts') {
        // This WeChat user failed too often on this 登录账号; the same wait for one that does not exist.
        await fail(ctx, 'login_throttled');
        ctx.set('Retry-After', String(result.retryAfterSeconds));
        renderer.render(ctx, 'bind-login', { values, errors: { form: retryAfterText(result.retryAfterSeconds) } }, 429);
      } else {
        await fail(ctx, 'invalid_credentials');
        // One message for an unknown account and a wrong password: no account enumeration.
        renderer.render(ctx, 'bind-login', { values, errors: { password: '登录账号或登录密码错误' } }, 401);
      }
      return;
    }
    session.bind = { accountId: result.account.id, at: deps.clock.now() };
    delete session.smsPhone;
    await ctx.state.session.regenerate();
    ctx.redirect('/h5/bind');
  });

  // 获取验证码: checks the phone, then asks for an image captcha before anything is sent.
  router.post('/h5/bind/sms', async (ctx) => {
    const session = sessionOf(ctx);
    const account = await stepOneAccount(ctx);
    const typed = field(ctx, 'phone');
    if (!account) {
      await renderPhoneStep(ctx, {});
      return;
    }
    const mobile = checkMobileNumber(typed);
    if (!mobile.ok) {
      await renderPhoneStep(ctx, { values: { phone: typed }, errors: { phone: mobile.message } }, 400);
      return;
    }
    const { phone } = mobile;
    if (!accounts.phoneMatches(account, phone)) {
      await phoneMismatch(ctx, account.id, { values: { phone }, errors: { phone: PHONE_MISMATCH } });
      return;
    }
    session.smsPhone = phone;
    ctx.state.session.touch();
    ctx.redirect('/h5/bind/sms');
  });

  router.get('/h5/bind/sms', async (ctx) => {
    const session = sessionOf(ctx);
    if (!(await stepOneAccount(ctx)) || !session.smsPhone) {
      ctx.redirect('/h5/bind');
      return;
    }
    renderer.render(ctx, 'bind-sms-captcha', { phoneMasked: maskPhone(session.smsPhone), errors: {} });
  });

  router.post('/h5/bind/sms/send', async (ctx) => {
    const session = sessionOf(ctx);
    const phone = session.smsPhone;
    const account = await stepOneAccount(ctx);
    if (!account || !phone) {
      ctx.redirect('/h5/bind');
      return;
    }
    const verdict = await deps.attempts.attempt('bind-sms', { openid: session.openid!, ip: ctx.ip });
    if (!verdict.allowed) {
      if (verdict.firstRefusal) await fail(ctx, 'too_many_attempts', account.id);
      ctx.set('Retry-After', String(verdict.retryAfterSeconds));
      renderer.render(
        ctx,
        'bind-sms-captcha',
        { phoneMasked: maskPhone(phone), errors: { captcha: retryAfterText(verdict.retryAfterSeconds) } },
        429,
      );
      return;
    }
    const captcha = field(ctx, 'captcha');
    if (!captcha || !(await deps.captcha.consume(captchaScope(ctx, 'bind-sms'), captcha))) {
      renderer.render(
        ctx,
        'bind-sms-captcha',
        { phoneMasked: maskPhone(phone), errors: { captcha: captcha ? '验证码错误，请重新输入' : '请输入图形验证码' } },
        400,
      );
      return;
    }
    let sent;
    try {
      sent = await deps.smsCodes.send({ phone, purpose: 'bind', ip: ctx.ip, requester: session.openid! });
    } catch (error) {
      if (!(error instanceof SmsDeliveryError)) throw error;
      deps.logger.warn({ err: error }, 'bind SMS not delivered');
      await renderPhoneStep(ctx, { values: { phone }, errors: { smsCode: SMS_NOT_DELIVERED } }, 502);
      return;
    }
    if (!sent.ok) {
      await fail(ctx, `sms_${sent.reason}`, account.id);
      const message = smsRefusalText(sent.reason, sent.retryAfterSeconds);
      await renderPhoneStep(ctx, { values: { phone }, errors: { smsCode: message } }, 429);
      return;
    }
    ctx.redirect('/h5/bind?sent=1');
  });

  router.post('/h5/bind/confirm', async (ctx) => {
    const session = sessionOf(ctx);
    const account = await stepOneAccount(ctx);
    if (!account) {
      await renderPhoneStep(ctx, {});
      return;
    }
    const typed = field(ctx, 'phone');
    const smsCode = field(ctx, 'smsCode');
    const values = { phone: typed };
    const errors: Errors = {};
    const mobile = checkMobileNumber(typed);
    const phone = mobile.ok ? mobile.phone : typed;
    if (!mobile.ok) errors.phone = mobile.message;
    else if (!accounts.phoneMatches(account, phone)) errors.phone = PHONE_MISMATCH;
    if (!/^\d{6}$/.test(smsCode)) errors.smsCode = '请输入6位短信验证码';
    if (errors.phone === PHONE_MISMATCH) {
      await phoneMismatch(ctx, account.id, { values, errors });
      return;
    }
    if (Object.keys(errors).length > 0) {
      await renderPhoneStep(ctx, { values, errors }, 400);
      return;
    }
    const verdict = await deps.smsCodes.verify({ phone, purpose: 'bind', code: smsCode, requester: session.openid! });
    if (verdict !== 'ok') {
      await fail(ctx, verdict === 'wrong' ? 'sms_wrong' : 'sms_expired', account.id);
      await renderPhoneStep(
        ctx,
        {
          values,
          errors: { smsCode: verdict === 'wrong' ? '短信验证码错误' : '短信验证码已失效，请重新获取' },
        },
        400,
      );
      return;
    }
    const result = await deps.bindingService.bind({
      openid: session.openid!,
      accountId: account.id,
      context: clientContext(ctx),
    });
    if (!result.ok) {
      await fail(ctx, result.reason, account.id);
      if (result.reason === 'openid_already_bound') {
        ctx.redirect('/h5/bind');
        return;
      }
      await renderPhoneStep(
        ctx,
        {
          values,
          errors: {
            form:
              result.reason === 'account_full'
                ? '该账号已绑定其他微信。如需改绑，请先登录福建省网上税务局，在【设置】-【微信解绑】中解除原绑定。'
                : '账号不存在，请重新登录。',
          },
        },
        409,
      );
      return;
    }
    delete session.bind;
    delete session.smsPhone;
    ctx.state.session.touch();
    const { loginName } = accounts.toPublic(account);
    sendCustomerNotice(deps, session.openid!, deps.templates.render('bound', { loginName }), 'bind');
    ctx.redirect('/h5/bind/done');
  });

  router.get('/h5/bind/done', async (ctx) => {
    const binding = await bindings.findByOpenid(sessionOf(ctx).openid!);
    const account = binding ? await accounts.findById(binding.accountId) : null;
    if (!account) {
      ctx.redirect('/h5/bind');
      return;
    }
    renderer.render(ctx, 'bind-done', { account: accounts.toPublic(account) });
  });

  return router;
}
