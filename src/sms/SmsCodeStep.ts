import type { AuditEntry, AuditLog } from '../audit/AuditLog';
import type { CaptchaService } from '../captcha/CaptchaService';
import type { Logger } from '../logging/createLogger';
import { maskPhone } from '../security/masking';
import type { SmsCodeService, SmsContent, SmsSendRefusal } from './SmsCodeService';
import { SmsDeliveryError } from './SmsDeliveryError';
import type { SmsPurpose } from './SmsPurpose';
import { SMS_NOT_DELIVERED, codeSentNotice, smsRefusalText } from './smsSendMessages';

export interface SmsCodeStepDependencies {
  captcha: CaptchaService;
  smsCodes: SmsCodeService;
  audit: AuditLog;
  logger: Logger;
}

/** Why the step refused; audited as `detail.reason`. */
export type SmsCodeStepRefusalReason =
  'captcha_missing' | 'captcha_wrong' | `sms_${SmsSendRefusal}` | 'sms_not_delivered';

/** A refusal as a form shows it: the field the message belongs next to, the message, the HTTP status. */
export interface SmsCodeStepRefusal {
  ok: false;
  reason: SmsCodeStepRefusalReason;
  field: 'captcha' | 'smsCode';
  message: string;
  status: 400 | 429 | 502;
  retryAfterSeconds?: number;
}

export type SmsCodeStepResult = { ok: true; phoneMasked: string; notice: string } | SmsCodeStepRefusal;

/** The audit row a refusal writes: its type and subject; the step adds `detail.reason`. */
export type SmsCodeStepAudit = Omit<AuditEntry, 'detail'> & { detail?: Record<string, unknown> };

/**
 * The one "获取验证码" step of the H5 flows: the image captcha is spent (right or wrong), the SMS
 * code is sent within the per-phone and per-IP quotas, and every refusal — captcha, quota, the
 * provider not taking the message — comes back with the same wording on every flow and is audited
 * with the flow's own failure event.
 */
export class SmsCodeStep {
  constructor(private readonly deps: SmsCodeStepDependencies) {}

  /** Spends the captcha of `scope`; null when it was answered right, else the refusal (audited). */
  async spendCaptcha(scope: string, answer: string, audit: SmsCodeStepAudit): Promise<SmsCodeStepRefusal | null> {
    const typed = answer.trim();
    if (!typed) return this.refuse(audit, 'captcha_missing', 'captcha', '请输入图形验证码', 400);
    if (!(await this.deps.captcha.consume(scope, typed)))
      return this.refuse(audit, 'captcha_wrong', 'captcha', '验证码错误，请重新输入', 400);
    return null;
  }

  /**
   * Sends a code for `purpose` to `phone` (a mainland mobile number the caller has checked).
   * `content: 'account_exists'` sends 实名注册's notice instead, through the same quotas and with the
   * same answer, so the page never tells which of the two went out.
   */
  async send(request: {
    phone: string;
    purpose: SmsPurpose;
    ip: string;
    /** Who may use the code (the WeChat user, or the recovery it belongs to): nobody else's tries reach it. */
    requester: string;
    audit: SmsCodeStepAudit;
    content?: SmsContent;
  }): Promise<SmsCodeStepResult> {
    const { phone, purpose, ip, requester, audit } = request;
    let sent;
    try {
      sent = await this.deps.smsCodes.send({ phone, purpose, ip, requester, content: request.content ?? 'code' });
    } catch (error) {
      if (!(error instanceof SmsDeliveryError)) throw error;
      this.deps.logger.warn({ err: error, purpose }, 'SMS code not delivered');
      return this.refuse(audit, 'sms_not_delivered', 'smsCode', SMS_NOT_DELIVERED, 502);
    }
    if (!sent.ok) {
      const refusal = await this.refuse(
        audit,
        `sms_${sent.reason}`,
        'smsCode',
        smsRefusalText(sent.reason, sent.retryAfterSeconds),
        429,
      );
      return { ...refusal, retryAfterSeconds: sent.retryAfterSeconds };
    }
    return { ok: true, phoneMasked: maskPhone(phone), notice: codeSentNotice(phone) };
  }

  private async refuse(
    audit: SmsCodeStepAudit,
    reason: SmsCodeStepRefusalReason,
    field: SmsCodeStepRefusal['field'],
    message: string,
    status: SmsCodeStepRefusal['status'],
  ): Promise<SmsCodeStepRefusal> {
    await this.deps.audit.record({ ...audit, detail: { ...audit.detail, reason } });
    return { ok: false, reason, field, message, status };
  }
}
