import { looksLikeMobileNumber } from '../accounts/personalNumbers';

/** The longest input looked at; longer is refused before any normalising. */
const MAX_TYPED_PHONE_LENGTH = 32;

export type MobileCheck = { ok: true; phone: string } | { ok: false; message: string };

/**
 * A mainland mobile number (11 digits, 13–19): spaces and hyphens typed for readability are
 * dropped, as is a leading +86 or 0086.
 */
export function checkMobileNumber(input: string): MobileCheck {
  // Before any normalising: '+86 138-1234-5678' and its spaces fit many times over.
  if (input.length > MAX_TYPED_PHONE_LENGTH) return { ok: false, message: '请输入正确的11位手机号码' };
  const phone = input.replace(/[\s-]/gu, '').replace(/^(?:\+86|0086)(?=\d{11}$)/u, '');
  if (phone.length === 0) return { ok: false, message: '请输入手机号码' };
  if (!looksLikeMobileNumber(phone)) return { ok: false, message: '请输入正确的11位手机号码' };
  return { ok: true, phone };
}
