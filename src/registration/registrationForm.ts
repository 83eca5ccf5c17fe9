import { checkIdNumber } from './gb11643';
import { checkMobileNumber } from './mobileNumber';
import { checkNewPassword } from './passwordPolicy';
import { checkPersonName } from './personName';

/** The fields of the 实名注册 form, by their input names; `form` is a message for the whole form. */
export type RegistrationField =
  'realName' | 'idNumber' | 'phone' | 'captcha' | 'smsCode' | 'password' | 'confirmPassword' | 'form';
export type RegistrationErrors = Partial<Record<RegistrationField, string>>;

/** The form as posted (strings; absent fields are ''). */
export interface RegistrationInput {
  realName: string;
  idNumber: string;
  phone: string;
  smsCode: string;
  password: string;
  confirmPassword: string;
}

/** A registration whose every field passed its format check, normalised for storage. */
export interface ValidRegistration {
  realName: string;
  /** Upper-case check character. */
  idNumber: string;
  phone: string;
  smsCode: string;
  password: string;
}

/** What the form shows again after a refusal: the values as normalised so far, never the passwords. */
export interface RedisplayValues {
  realName: string;
  idNumber: string;
  phone: string;
  smsCode: string;
}

export type RegistrationValidation =
  | { ok: true; registration: ValidRegistration; values: RedisplayValues }
  | { ok: false; errors: RegistrationErrors; values: RedisplayValues };

/**
 * Every format check of the form at once, so each refused field shows its own message: the name
 * (2016 rules), the ID number (GB 11643-1999, birth date not after `today`, China's 'YYYYMMDD'),
 * the mobile number, the SMS code's shape, the password policy and 确认密码.
 */
export function validateRegistration(input: RegistrationInput, today: string): RegistrationValidation {
  const errors: RegistrationErrors = {};
  const name = checkPersonName(input.realName);
  const id = checkIdNumber(input.idNumber, today);
  const mobile = checkMobileNumber(input.phone);
  const values: RedisplayValues = {
    realName: name.ok ? name.name : input.realName.trim(),
    idNumber: id.ok ? id.idNumber : input.idNumber.trim(),
    phone: mobile.ok ? mobile.phone : input.phone.trim(),
    smsCode: input.smsCode.trim(),
  };
  if (!name.ok) errors.realName = name.message;
  if (!id.ok) errors.idNumber = id.message;
  if (!mobile.ok) errors.phone = mobile.message;

  if (values.smsCode.length === 0) errors.smsCode = '请输入短信验证码';
  else if (!/^\d{6}$/.test(values.smsCode)) errors.smsCode = '短信验证码为6位数字';

  const password = checkNewPassword(input.password, { phone: values.phone, idNumber: values.idNumber.toUpperCase() });
  if (!password.ok) errors.password = password.message;
  if (input.confirmPassword.length === 0) errors.confirmPassword = '请再次输入登录密码';
  else if (input.password.length > 0 && input.confirmPassword !== input.password)
    errors.confirmPassword = '两次输入的登录密码不一致';

  if (Object.keys(errors).length > 0 || !name.ok || !id.ok || !mobile.ok) return { ok: false, errors, values };
  return {
    ok: true,
    values,
    registration: {
      realName: name.name,
      idNumber: id.idNumber,
      phone: mobile.phone,
      smsCode: values.smsCode,
      password: input.password,
    },
  };
}
