import { looksLikeIdNumber, looksLikeMobileNumber } from '../accounts/personalNumbers';

/*
 * The one way personal data is shown: pages, API answers and log lines all mask through here.
 * Values too short to keep their ends (malformed input) are masked completely.
 */

function keepEnds(value: string, head: number, tail: number, middle?: string): string {
  const chars = Array.from(value);
  if (chars.length <= head + tail) return '*'.repeat(Math.max(chars.length, 1));
  return (
    chars.slice(0, head).join('') + (middle ?? '*'.repeat(chars.length - head - tail)) + chars.slice(-tail).join('')
  );
}

/** '350***********1234': the first 3 (province and city) and last 4 characters. */
export function maskIdNumber(idNumber: string): string {
  return keepEnds(idNumber, 3, 4);
}

/** '138****5678': the first 3 and last 4 digits. */
export function maskPhone(phone: string): string {
  return keepEnds(phone, 3, 4);
}

/** 'oAbCdE****wxyz': the first 6 and last 4 characters, enough to tell openids apart in logs. */
export function maskOpenid(openid: string): string {
  return keepEnds(openid, 6, 4, '****');
}

/**
 * '张*', '欧阳**', '阿依古丽·买买提' → '阿**********': the first character stays and every other
 * character (the `·` of minority names included) becomes '*'. This does not try to tell compound
 * surnames apart; it only guarantees that no more than one character is shown.
 */
export function maskName(name: string): string {
  const chars = Array.from(name);
  if (chars.length <= 1) return '*';
  return chars[0] + '*'.repeat(chars.length - 1);
}

/** A login name that is an ID number or a mobile number is masked as one; other login names are not personal data. */
export function maskLoginName(loginName: string): string {
  if (looksLikeIdNumber(loginName)) return maskIdNumber(loginName);
  if (looksLikeMobileNumber(loginName)) return maskPhone(loginName);
  return loginName;
}
