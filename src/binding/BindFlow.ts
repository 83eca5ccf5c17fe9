import type { Account } from '../accounts/Account';
import type { AccountService, PublicAccount } from '../accounts/AccountService';
import type { AuditLog } from '../audit/AuditLog';
import type { CaptchaService } from '../captcha/CaptchaService';
import type { Clock } from '../clock/Clock';
import type { ClientContext } from '../http/clientContext';
import type { Logger } from '../logging/createLogger';
import { checkMobileNumber } from '../registration/mobileNumber';
import { retryAfterText, type FormAttemptLimiter } from '../security/FormAttemptLimiter';
import type { SmsCodeService } from '../sms/SmsCodeService';
import type { SmsCodeStep } from '../sms/SmsCodeStep';
import type { WeChatApiClient } from '../wechat/api/WeChatApiClient';
import type { ReplyTemplates } from '../wechat/ReplyTemplates';
import { sendCustomerNotice } from '../wechat/sendCustomerNotice';
import type { BindingService } from './BindingService';
import type { BindingStore } from './BindingStore';

export interface BindFlowDependencies {
  accounts: AccountService;
  bindings: BindingStore;
  bindingService: BindingService;
  /** The image captcha of 登录. */
  captcha: CaptchaService;
  /** 获取验证码: the image captcha, then the SMS within its quotas (shared with every H5 flow). */
  smsStep: SmsCodeStep;
  /** Checks the code at 确定绑定. */
  smsCodes: SmsCodeService;
  audit: AuditLog;
  wechatApi: WeChatApiClient;
  templates: ReplyTemplates;
  clock: Clock;
  logger: Logger;
  /** Caps 登录 and 获取验证码 attempts per WeChat user and per IP (ASVS V6.3.1). */
  attempts: FormAttemptLimiter;
}

/** The WeChat user at the form and the client they use. */
export interface BindClient extends ClientContext {
  openid: string;
}

/** 登录 passed for this account at `at`; kept in the H5 session for step 2. */
export interface PendingBind {
  accountId: string;
  at: number;
}

export type BindErrors = Partial<Record<'loginName' | 'password' | 'captcha' | 'phone' | 'smsCode' | 'form', string>>;

/** A refusal shown on the form it came from, the messages next to their fields. */
export interface BindRefusal {
  ok: false;
  status: 400 | 401 | 409 | 429 | 502;
  errors: BindErrors;
  /** The phone to show again, as the flow normalised it. */
  phone?: string;
  /** Sent as Retry-After. */
  retryAfterSeconds?: number;
}

/** Too many typed phones were not the account's: 登录 is cleared and the taxpayer starts again from it. */
export interface BindRestart {
  ok: false;
  restart: true;
  retryAfterSeconds: number;
  message: string;
}

/** Step 1 (登录) is good for this long; after it the taxpayer must log in again. */
const STEP_ONE_VALID_MS = 15 * 60_000;

const PHONE_MISMATCH = '手机号码与账号预留的手机号码不一致';

/**
 * 实名绑定 as a use-case: 登录 with the portal account, then its mobile number proven by an SMS code,
 * then the binding. Every refusal is audited (`bind_failed` with the reason) and changes nothing;
 * the H5 routes only read the form, call one step and render what it answers.
 */
export class BindFlow {
  constructor(private readonly deps: BindFlowDependencies) {}

  /** The account this WeChat is bound to, if any. */
  async boundAccount(openid: string): Promise<PublicAccount | null> {
    const binding = await this.deps.bindings.findByOpenid(openid);
    const account = binding ? await this.deps.accounts.findById(binding.accountId) : null;
    return account ? this.deps.accounts.toPublic(account) : null;
  }

  /** The account that passed 登录, while that is recent enough. */
  async pendingAccount(pending: PendingBind | undefined): Promise<Account | null> {
    if (!pending || this.deps.clock.now() - pending.at > STEP_ONE_VALID_MS) return null;
    return this.deps.accounts.findById(pending.accountId);
  }

  toPublic(account: Account): PublicAccount {
    return this.deps.accounts.toPublic(account);
  }

  /** Step 1, 登录: 登录账号 + 登录密码 + the image captcha of `captchaScope`. */
  async login(
    client: BindClient,
    form: { loginName: string; password: string; captcha: string },
    captchaScope: string,
  ): Promise<{ ok: true; pending: PendingBind } | BindRefusal> {
    const { deps } = this;
    // Counted before anything is checked: a flood of guesses (captcha or password, one account or
    // many) stops here without spending a captcha, a password hash or an audit row per try.
    const verdict = await deps.attempts.attempt('bind-login', client);
    if (!verdict.allowed) {
      if (verdict.firstRefusal) await this.fail(client, 'too_many_attempts');
      return this.tooMany(verdict.retryAfterSeconds, 'form');
    }
    const { loginName, password, captcha } = form;
    const errors: BindErrors = {};
    if (!loginName) errors.loginName = '请输入登录账号';
    else if (loginName.length > 64) errors.loginName = '登录账号过长';
    if (!password) errors.password = '请输入登录密码';
    else if (password.length > 128) errors.password = '登录密码过长';
    if (!captcha) errors.captcha = '请输入验证码';
    // The captcha is checked (and spent) before the password, so guessing passwords costs a captcha each.
    if (captcha && !(await deps.captcha.consume(captchaScope, captcha))) {
      errors.captcha = '验证码错误，请重新输入';
      await this.fail(client, 'captcha_wrong');
    }
    if (Object.keys(errors).length > 0) return { ok: false, status: 400, errors };
    // The WeChat user is recorded (this authentication binds, it logs no portal in: 登录记录 tells them
    // apart), and it is the client whose failures are paced, not the IP a carrier shares among many.
    const result = await deps.accounts.authenticate(loginName, password, client);
    if (!result.ok) {
      if (result.reason === 'too_many_attempts') {
        // This WeChat user failed too often on this 登录账号; the same wait for one that does not exist.
        await this.fail(client, 'login_throttled');
        return this.tooMany(result.retryAfterSeconds, 'form');
      }
      await this.fail(client, 'invalid_credentials');
      // One message for an unknown account and a wrong password: no account enumeration.
      return { ok: false, status: 401, errors: { password: '登录账号或登录密码错误' } };
    }
    return { ok: true, pending: { accountId: result.account.id, at: deps.clock.now() } };
  }

  /** Step 2, 获取验证码 part one: the typed phone must be the account's (spaces, hyphens and +86 allowed). */
  async checkPhone(
    client: BindClient,
    account: Account,
    typed: string,
  ): Promise<{ ok: true; phone: string } | BindRefusal | BindRestart> {
    const mobile = checkMobileNumber(typed);
    if (!mobile.ok) return { ok: false, status: 400, errors: { phone: mobile.message } };
    if (!this.deps.accounts.phoneMatches(account, mobile.phone)) {
      const refused = await this.phoneMismatch(client, account.id, { phone: PHONE_MISMATCH });
      return 'restart' in refused ? refused : { ...refused, phone: mobile.phone };
    }
    return { ok: true, phone: mobile.phone };
  }

  /**
   * Step 2, 获取验证码 part two: the image captcha of `captchaScope`, then the SMS code to `phone`
   * (checked by checkPhone). A captcha refusal belongs on the captcha page, the rest on the phone step.
   */
  async sendCode(
    client: BindClient,
    account: Account,
    phone: string,
    captcha: { scope: string; answer: string },
  ): Promise<{ ok: true } | (BindRefusal & { field: 'captcha' | 'smsCode' })> {
    const { deps } = this;
    const verdict = await deps.attempts.attempt('bind-sms', client);
    if (!verdict.allowed) {
      if (verdict.firstRefusal) await this.fail(client, 'too_many_attempts', account.id);
      return { ...this.tooMany(verdict.retryAfterSeconds, 'captcha'), field: 'captcha' };
    }
    const audit = { type: 'bind_failed' as const, accountId: account.id, ...client };
    const sent =
      (await deps.smsStep.spendCaptcha(captcha.scope, captcha.answer, audit)) ??
      (await deps.smsStep.send({ phone, purpose: 'bind', ip: client.ip, requester: client.openid, audit }));
    if (sent.ok) return { ok: true };
    return { ok: false, status: sent.status, field: sent.field, errors: { [sent.field]: sent.message } };
  }

  /** Step 2, 确定绑定: the phone again and its SMS code, then the binding and its customer-service notice. */
  async confirm(
    client: BindClient,
    account: Account,
    form: { phone: string; smsCode: string },
  ): Promise<{ ok: true } | { ok: false; alreadyBound: true } | BindRefusal | BindRestart> {
    const { deps } = this;
    const errors: BindErrors = {};
    const mobile = checkMobileNumber(form.phone);
    const phone = mobile.ok ? mobile.phone : form.phone;
    if (!mobile.ok) errors.phone = mobile.message;
    else if (!deps.accounts.phoneMatches(account, phone)) errors.phone = PHONE_MISMATCH;
    if (!/^\d{6}$/.test(form.smsCode)) errors.smsCode = '请输入6位短信验证码';
    if (errors.phone === PHONE_MISMATCH) return this.phoneMismatch(client, account.id, errors);
    if (Object.keys(errors).length > 0) return { ok: false, status: 400, errors };
    const verdict = await deps.smsCodes.verify({
      phone,
      purpose: 'bind',
      code: form.smsCode,
      requester: client.openid,
    });
    if (verdict !== 'ok') {
      await this.fail(client, verdict === 'wrong' ? 'sms_wrong' : 'sms_expired', account.id);
      return {
        ok: false,
        status: 400,
        errors: { smsCode: verdict === 'wrong' ? '短信验证码错误' : '短信验证码已失效，请重新获取' },
      };
    }
    const result = await deps.bindingService.bind({
      openid: client.openid,
      accountId: account.id,
      context: { ip: client.ip, userAgent: client.userAgent },
    });
    if (!result.ok) {
      await this.fail(client, result.reason, account.id);
      if (result.reason === 'openid_already_bound') return { ok: false, alreadyBound: true };
      return {
        ok: false,
        status: 409,
        errors: {
          form:
            result.reason === 'account_full'
              ? '该账号已绑定其他微信。如需改绑，请先登录福建省网上税务局，在【设置】-【微信解绑】中解除原绑定。'
              : '账号不存在，请重新登录。',
        },
      };
    }
    const { loginName } = deps.accounts.toPublic(account);
    sendCustomerNotice(deps, client.openid, deps.templates.render('bound', { loginName }), 'bind');
    return { ok: true };
  }

  /**
   * A typed phone that is not the account's: each one is a guess at the digits the mask hides, so
   * they are counted (FormAttemptLimiter, 'bind-phone'); past the limit the taxpayer starts again from 登录.
   */
  private async phoneMismatch(
    client: BindClient,
    accountId: string,
    errors: BindErrors,
  ): Promise<BindRefusal | BindRestart> {
    const verdict = await this.deps.attempts.attempt('bind-phone', client);
    if (verdict.allowed) {
      await this.fail(client, 'phone_mismatch', accountId);
      return { ok: false, status: 400, errors };
    }
    if (verdict.firstRefusal) await this.fail(client, 'too_many_attempts', accountId);
    const minutes = Math.max(1, Math.ceil(verdict.retryAfterSeconds / 60));
    return {
      ok: false,
      restart: true,
      retryAfterSeconds: verdict.retryAfterSeconds,
      message: `手机号码多次与账号预留的手机号码不一致，请 ${minutes} 分钟后重新登录并绑定。`,
    };
  }

  private tooMany(retryAfterSeconds: number, field: 'form' | 'captcha'): BindRefusal {
    return { ok: false, status: 429, errors: { [field]: retryAfterText(retryAfterSeconds) }, retryAfterSeconds };
  }

  private async fail(client: BindClient, reason: string, accountId: string | null = null): Promise<void> {
    await this.deps.audit.record({ type: 'bind_failed', accountId, ...client, detail: { reason } });
  }
}
