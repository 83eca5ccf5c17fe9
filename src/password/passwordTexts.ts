/** What a taxpayer whose registered number is no longer theirs is told: there is no online way round it. */
export const PHONE_CHANGED = '手机号码已变更？请携带身份证件到办税服务厅办理，或拨打 12366。';

/** The answer after 姓名 + 身份证号码, the same whether or not they match an account. */
export function codeSentText(phoneMasked: string | null): string {
  return phoneMasked
    ? `如该身份已注册实名账号，验证码已发送至其预留手机号码 ${phoneMasked}，5分钟内有效。`
    : '如该身份已注册实名账号，验证码已发送至其预留手机号码，5分钟内有效。';
}

/** One message for a wrong code, a used or expired one, and a recovery that leads nowhere. */
export const CODE_INVALID = '短信验证码错误或已失效，请核对或重新获取。';

export const RESET_EXPIRED = '操作已超时，请重新验证身份。';
