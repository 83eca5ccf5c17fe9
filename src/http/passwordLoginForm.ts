import type { Context } from 'koa';
import type { CaptchaService } from '../captcha/CaptchaService';

export type PasswordLoginErrors = Partial<Record<'loginName' | 'password' | 'captcha' | 'form', string>>;

export interface PasswordLoginForm {
  loginName: string;
  password: string;
  /** Empty when the form may go on to the password check. */
  errors: PasswordLoginErrors;
}

const LOGIN_NAME_MAX = 64;
const PASSWORD_MAX = 128;

const field = (ctx: Context, name: string): string => {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/**
 * Reads and checks a 实名用户登录 form (登录账号, 登录密码, image captcha) as every login page does.
 * The captcha in `captchaScope` is used up by every try, right or wrong, before the password is looked at.
 */
export async function readPasswordLoginForm(
  ctx: Context,
  captcha: CaptchaService,
  captchaScope: string,
): Promise<PasswordLoginForm> {
  const loginName = field(ctx, 'loginName').trim();
  const password = field(ctx, 'password');
  const answer = field(ctx, 'captcha').trim();
  const errors: PasswordLoginErrors = {};
  if (!loginName) errors.loginName = '请输入登录账号';
  else if (loginName.length > LOGIN_NAME_MAX) errors.loginName = '登录账号格式不正确';
  if (!password) errors.password = '请输入登录密码';
  else if (password.length > PASSWORD_MAX) errors.password = '登录密码格式不正确';
  if (!answer) errors.captcha = '请输入验证码';
  else if (!(await captcha.consume(captchaScope, answer))) errors.captcha = '验证码错误或已过期，请重新输入';
  return { loginName, password, errors };
}
