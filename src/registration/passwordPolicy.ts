/*
 * The 登录密码 policy of 实名注册: 8–64 visible ASCII characters (letters, digits, symbols) with at
 * least 3 of the 4 classes, and not containing the account's phone number or ID number, both of
 * which are public enough to be guessed.
 */

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 64;

const CLASSES: RegExp[] = [/[A-Z]/, /[a-z]/, /[0-9]/, /[!-/:-@[-`{-~]/];

export type PasswordProblem =
  'empty' | 'too_short' | 'too_long' | 'characters' | 'classes' | 'contains_phone' | 'contains_id_number';

export type PasswordCheck = { ok: true } | { ok: false; problem: PasswordProblem; message: string };

/** How many of upper-case letters, lower-case letters, digits and symbols the password uses. */
export function characterClasses(password: string): number {
  return CLASSES.filter((pattern) => pattern.test(password)).length;
}

/**
 * Checks a new password. `phone` and `idNumber` are the values of the same form (already
 * normalised when they were valid); an empty one is not looked for.
 */
export function checkNewPassword(password: string, personal: { phone: string; idNumber: string }): PasswordCheck {
  const fail = (problem: PasswordProblem, message: string): PasswordCheck => ({ ok: false, problem, message });
  if (password.length === 0) return fail('empty', '请设置登录密码');
  // The length first: nothing below ever looks at more than MAX_PASSWORD_LENGTH characters.
  if (password.length > MAX_PASSWORD_LENGTH) return fail('too_long', `登录密码不能超过${MAX_PASSWORD_LENGTH}位`);
  if (!/^[!-~]*$/.test(password)) return fail('characters', '登录密码只能包含英文字母、数字和英文符号，不能有空格');
  if (password.length < MIN_PASSWORD_LENGTH) return fail('too_short', `登录密码至少${MIN_PASSWORD_LENGTH}位`);
  if (characterClasses(password) < 3) return fail('classes', '登录密码须包含大写字母、小写字母、数字、符号中的至少3种');
  const upper = password.toUpperCase();
  if (personal.phone && password.includes(personal.phone)) return fail('contains_phone', '登录密码不能包含手机号码');
  if (personal.idNumber && upper.includes(personal.idNumber.toUpperCase()))
    return fail('contains_id_number', '登录密码不能包含身份证号码');
  return { ok: true };
}
