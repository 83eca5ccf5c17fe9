import type { AccountConflictField } from '../accounts/AccountConflictError';
import type { AccountService, PublicAccount } from '../accounts/AccountService';
import type { AuditLog } from '../audit/AuditLog';
import type { BindingStore } from '../binding/BindingStore';
import type { Clock } from '../clock/Clock';
import type { ClientContext } from '../http/clientContext';
import type { Logger } from '../logging/createLogger';
import { retryAfterText, type FormAttemptLimiter } from '../security/FormAttemptLimiter';
import { maskIdNumber, maskPhone } from '../security/masking';
import type { SmsCodeService } from '../sms/SmsCodeService';
import type { SmsCodeStep } from '../sms/SmsCodeStep';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import { sendCustomerNotice } from '../wechat/sendCustomerNotice';
import { chinaDate } from './gb11643';
import { checkMobileNumber } from './mobileNumber';
import type { RegistrationService } from './RegistrationService';
import {
  validateRegistration,
  type RedisplayValues,
  type RegistrationErrors,
  type RegistrationInput,
} from './registrationForm';

export interface RegistrationFlowDependencies {
  accounts: AccountService;
  bindings: BindingStore;
  registration: RegistrationService;
  /** 获取验证码: the image captcha, then the SMS within its quotas (shared with every H5 flow). */
  smsStep: SmsCodeStep;
  /** Checks the code at 注册. */
  smsCodes: SmsCodeService;
  audit: AuditLog;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  clock: Clock;
  logger: Logger;
  /** Caps 获取验证码 (each spends an image captcha) and 注册 attempts per WeChat user and per IP (ASVS V6.3.1). */
  attempts: FormAttemptLimiter;
}

/** The WeChat user at the form and the client they use. */
export interface RegistrationClient extends ClientContext {
  openid: string;
}

/** A refusal: the form again with these values (never the passwords) and each message next to its field. */
export interface RegistrationRefusal {
  ok: false;
  status: 400 | 409 | 422 | 429 | 502;
  values: RedisplayValues;
  errors: RegistrationErrors;
  /** Sent as Retry-After. */
  retryAfterSeconds?: number;
}

const TAKEN: Record<AccountConflictField, { field: 'idNumber' | 'phone'; message: string }> = {
  idNumber: { field: 'idNumber', message: '该身份证号码已注册实名账号。如是本人账号，请使用“实名绑定”。' },
  // The login name is the ID number, so a login name taken is that ID number taken.
  loginName: { field: 'idNumber', message: '该身份证号码已注册实名账号。如是本人账号，请使用“实名绑定”。' },
  phone: { field: 'phone', message: '该手机号码已注册实名账号，请更换手机号码，或使用“实名绑定”。' },
};

const TAKEN_REASON: Record<AccountConflictField, string> = {
  idNumber: 'id_number_taken',
  loginName: 'login_name_taken',
  phone: 'phone_taken',
};

/**
 * 实名注册 as a use-case, for the one-form H5 page:
 *
 * - 获取验证码 checks the phone's format, spends the image captcha and sends the SMS code. Every SMS
 *   costs an image captcha. A phone that already has an account is sent a notice saying so (实名绑定,
 *   忘记密码) instead of a code, and the answer is as for any phone: nothing here tells the form's
 *   holder whether a number is registered.
 * - Nor is the ID number's: its uniqueness is told only after the SMS code (proof of the phone) and
 *   the identity verifier, by the transaction.
 * - 注册: every format check at once; then the SMS code (single use, so checked after the formats,
 *   which therefore never burn it); then the identity verifier and one transaction creating the
 *   account and binding this WeChat. The image captcha is not asked again: 注册 cannot get past the
 *   SMS code without a code that cost one.
 *
 * Every refusal is audited (`register_failed` with the reason) and stores nothing.
 */
export class RegistrationFlow {
  constructor(private readonly deps: RegistrationFlowDependencies) {}

  /** The account this WeChat is bound to, if any: it is shown instead of the form. */
  async boundAccount(openid: string): Promise<PublicAccount | null> {
    const binding = await this.deps.bindings.findByOpenid(openid);
    const account = binding ? await this.deps.accounts.findById(binding.accountId) : null;
    return account ? this.deps.accounts.toPublic(account) : null;
  }

  /** 获取验证码, with the form's text fields as typed (trimmed) and the image captcha of `captcha.scope`. */
  async sendCode(
    client: RegistrationClient,
    typed: RedisplayValues,
    captcha: { scope: string; answer: string },
  ): Promise<{ ok: true; values: RedisplayValues; notice: string } | RegistrationRefusal> {
    const { deps } = this;
    const values = { ...typed, smsCode: '' };
    const verdict = await deps.attempts.attempt('register-sms', client);
    if (!verdict.allowed) {
      if (verdict.firstRefusal) await this.fail(client, 'too_many_attempts');
      return this.tooMany(values, verdict.retryAfterSeconds, 'captcha');
    }
    const errors: RegistrationErrors = {};
    const mobile = checkMobileNumber(values.phone);
    if (mobile.ok) values.phone = mobile.phone;
    else errors.phone = mobile.message;
    const audit = { type: 'register_failed' as const, ...client };
    // Spent whatever else is wrong: the form comes back with a new image either way.
    const captchaRefused = await deps.smsStep.spendCaptcha(captcha.scope, captcha.answer, audit);
    if (captchaRefused) errors.captcha = captchaRefused.message;
    if (Object.keys(errors).length > 0) return { ok: false, status: 400, values, errors };
    // Whether the phone has an account is told only to the phone: it gets a notice instead of a
    // code, through the same limits, and this answer is exactly as for any other phone.
    const taken = await deps.registration.phoneTaken(values.phone);
    const sent = await deps.smsStep.send({
      phone: values.phone,
      purpose: 'register',
      ip: client.ip,
      requester: client.openid,
      audit: { ...audit, detail: { phone: maskPhone(values.phone) } },
      content: taken ? 'account_exists' : 'code',
    });
    if (!sent.ok) return { ok: false, status: sent.status, values, errors: { smsCode: sent.message } };
    // Logged, not audited: a row written on this path alone would make it measurably slower.
    if (taken) deps.logger.info({ phone: sent.phoneMasked }, 'register: account-exists SMS sent instead of a code');
    return { ok: true, values, notice: sent.notice };
  }

  /** 注册, with the form as posted. */
  async register(
    client: RegistrationClient,
    input: RegistrationInput,
  ): Promise<{ ok: true } | { ok: false; alreadyBound: true } | RegistrationRefusal> {
    const { deps } = this;
    // Counted before anything is checked: each 注册 is a guess at an SMS code, so a flood of them
    // (and of the audit rows and format checks they cost) stops here.
    const attempt = await deps.attempts.attempt('register', client);
    if (!attempt.allowed) {
      if (attempt.firstRefusal) await this.fail(client, 'too_many_attempts');
      const values = {
        realName: input.realName.trim(),
        idNumber: input.idNumber.trim(),
        phone: input.phone.trim(),
        smsCode: '',
      };
      return this.tooMany(values, attempt.retryAfterSeconds, 'form');
    }
    const checked = validateRegistration(input, chinaDate(deps.clock.now()));
    if (!checked.ok) {
      await this.fail(client, 'invalid_form', { fields: Object.keys(checked.errors) });
      return { ok: false, status: 400, values: checked.values, errors: checked.errors };
    }
    const { registration } = checked;
    // From here on the SMS code is spent: later refusals ask for a new one.
    const values = { ...checked.values, smsCode: '' };
    const verdict = await deps.smsCodes.verify({
      phone: registration.phone,
      purpose: 'register',
      code: registration.smsCode,
      requester: client.openid,
    });
    if (verdict !== 'ok') {
      await this.fail(client, verdict === 'wrong' ? 'sms_wrong' : 'sms_expired', {
        phone: maskPhone(registration.phone),
      });
      return {
        ok: false,
        status: 400,
        values,
        errors: { smsCode: verdict === 'wrong' ? '短信验证码错误' : '短信验证码已失效，请重新获取' },
      };
    }
    const result = await deps.registration.register({
      realName: registration.realName,
      idNumber: registration.idNumber,
      phone: registration.phone,
      password: registration.password,
      openid: client.openid,
      context: { ip: client.ip, userAgent: client.userAgent },
    });
    if (!result.ok) {
      if (result.reason === 'wechat_already_bound') {
        await this.fail(client, 'wechat_already_bound');
        return { ok: false, alreadyBound: true };
      }
      if (result.reason === 'taken') {
        await this.fail(client, TAKEN_REASON[result.field], {
          idNumber: maskIdNumber(registration.idNumber),
          phone: maskPhone(registration.phone),
        });
        const taken = TAKEN[result.field];
        return { ok: false, status: 409, values, errors: { [taken.field]: taken.message } };
      }
      await this.fail(client, 'identity_refused', { detail: result.detail });
      return { ok: false, status: 422, values, errors: { [result.field]: result.message } };
    }
    const loginName = maskIdNumber(registration.idNumber);
    sendCustomerNotice(deps, client.openid, deps.templates.render('registered', { loginName }), 'registration');
    return { ok: true };
  }

  private tooMany(values: RedisplayValues, retryAfterSeconds: number, field: 'captcha' | 'form'): RegistrationRefusal {
    return {
      ok: false,
      status: 429,
      values,
      errors: { [field]: retryAfterText(retryAfterSeconds) },
      retryAfterSeconds,
    };
  }

  private async fail(client: RegistrationClient, reason: string, detail: Record<string, unknown> = {}): Promise<void> {
    await this.deps.audit.record({ type: 'register_failed', ...client, detail: { reason, ...detail } });
  }
}
