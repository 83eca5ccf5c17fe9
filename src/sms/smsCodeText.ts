import type { SmsPurpose } from './SmsPurpose';

const USE: Record<SmsPurpose, string> = {
  bind: '微信实名绑定',
  register: '实名注册',
  password_reset: '重置登录密码',
};

/**
 * The message as the taxpayer reads it. The console sender logs nothing of it and the sandbox
 * outbox shows it; Tencent Cloud sends its approved template instead, filled with the same code.
 */
export function smsCodeText(code: string, purpose: SmsPurpose): string {
  return `【福建税务】您的验证码为${code}，用于${USE[purpose]}，5分钟内有效。如非本人操作，请忽略本短信。`;
}

/**
 * What a phone that already has an account receives instead of a 实名注册 code: only its holder
 * learns that the number is registered, and where to go instead.
 */
export function accountExistsText(): string {
  return '【福建税务】该手机号码已注册实名账号，无需再次注册。如需在微信中使用，请在“福建税务”公众号选择“实名绑定”；如忘记登录密码，请使用“忘记密码”。如非本人操作，请忽略本短信。';
}
