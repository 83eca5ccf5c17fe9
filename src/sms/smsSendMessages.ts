import { maskPhone } from '../security/masking';
import type { SmsSendRefusal } from './SmsCodeService';

/** What a taxpayer reads once the SMS went out (the phone masked). */
export function codeSentNotice(phone: string): string {
  return `验证码已发送至 ${maskPhone(phone)}，5分钟内有效。`;
}

/** What a taxpayer reads when the provider did not take the SMS (the same on every flow). */
export const SMS_NOT_DELIVERED = '短信发送失败，请稍后重新获取。';

const REFUSED: Record<SmsSendRefusal, (retryAfterSeconds: number) => string> = {
  resend_too_soon: (seconds) => `验证码已发送，请 ${seconds} 秒后再重新获取。`,
  hourly_limit: () => '该手机号码获取验证码过于频繁，请一小时后再试。',
  daily_limit: () => '该手机号码今日获取验证码次数已达上限，请明天再试。',
  ip_daily_limit: () => '今日获取验证码次数已达上限，请明天再试。',
};

/** What a taxpayer reads when a quota refused the SMS. */
export function smsRefusalText(reason: SmsSendRefusal, retryAfterSeconds: number): string {
  return REFUSED[reason](retryAfterSeconds);
}
