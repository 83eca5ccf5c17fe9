/*
 * Citizen ID numbers per GB 11643-1999 (公民身份号码): 6-digit address code, 8-digit birth date
 * (YYYYMMDD), 3-digit sequence, 1 check character computed by ISO 7064 MOD 11-2.
 */

import { shanghaiDate } from '../clock/shanghaiTime';

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
/** The check character for each remainder 0–10 of the weighted sum mod 11. */
const CHECK_MAP = '10X98765432';

/**
 * The 2-digit province-level codes of GB/T 2260: 11–15 (华北), 21–23 (东北), 31–37 (华东),
 * 41–46 (中南), 50–54 (西南), 61–65 (西北), 71 (台湾), 81 (香港), 82 (澳门), 83 (台湾居民居住证,
 * which uses the GB 11643 format with this code).
 */
export const PROVINCE_CODES: ReadonlySet<string> = new Set([
  '11',
  '12',
  '13',
  '14',
  '15',
  '21',
  '22',
  '23',
  '31',
  '32',
  '33',
  '34',
  '35',
  '36',
  '37',
  '41',
  '42',
  '43',
  '44',
  '45',
  '46',
  '50',
  '51',
  '52',
  '53',
  '54',
  '61',
  '62',
  '63',
  '64',
  '65',
  '71',
  '81',
  '82',
  '83',
]);

/** The longest input looked at; longer is refused before any normalising. */
const MAX_TYPED_ID_LENGTH = 64;

/** Birth dates before this year are refused as typing mistakes. */
export const EARLIEST_BIRTH_YEAR = 1900;

export type IdNumberProblem =
  | 'empty'
  | 'length'
  | 'characters'
  | 'province'
  | 'birth_date'
  | 'birth_date_future'
  | 'birth_date_too_early'
  | 'checksum';

export type IdNumberCheck =
  { ok: true; idNumber: string; birthDate: string } | { ok: false; problem: IdNumberProblem; message: string };

const MESSAGES: Record<IdNumberProblem, string> = {
  empty: '请输入身份证号码',
  length: '身份证号码应为18位',
  characters: '身份证号码前17位应为数字，最后一位为数字或X',
  province: '身份证号码前两位的省份代码不正确',
  birth_date: '身份证号码中的出生日期不是有效日期',
  birth_date_future: '身份证号码中的出生日期晚于今天',
  birth_date_too_early: `身份证号码中的出生日期早于${EARLIEST_BIRTH_YEAR}年`,
  checksum: '身份证号码校验位不正确，请核对后重新输入',
};

/** The check character of the first 17 digits. */
export function gb11643CheckCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('expected 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += WEIGHTS[i]! * (first17.charCodeAt(i) - 48);
  return CHECK_MAP[sum % 11]!;
}

/** 'YYYYMMDD' of the calendar day in China at `nowMs`, as birth dates are written in an ID number. */
export function chinaDate(nowMs: number): string {
  return shanghaiDate(nowMs).replaceAll('-', '');
}

function isRealDate(yyyymmdd: string): boolean {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  if (month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * Validates an ID number as typed (surrounding spaces ignored, the check character x in either
 * case) against GB 11643-1999: 18 characters, a province code of GB/T 2260, a real birth date not
 * after `today` ('YYYYMMDD', China's calendar day), and the check character. On success the number
 * is returned normalised (X upper-case). Checks run in that order and the first problem is named.
 */
export function checkIdNumber(input: string, today: string): IdNumberCheck {
  const fail = (problem: IdNumberProblem): IdNumberCheck => ({ ok: false, problem, message: MESSAGES[problem] });
  // Before any normalising: room for surrounding spaces, and no more.
  if (input.length > MAX_TYPED_ID_LENGTH) return fail('length');
  const value = input.trim().toUpperCase();
  if (value.length === 0) return fail('empty');
  if (Array.from(value).length !== 18) return fail('length');
  if (!/^\d{17}[\dX]$/.test(value)) return fail('characters');
  if (!PROVINCE_CODES.has(value.slice(0, 2))) return fail('province');
  const birthDate = value.slice(6, 14);
  if (!isRealDate(birthDate)) return fail('birth_date');
  if (Number(birthDate.slice(0, 4)) < EARLIEST_BIRTH_YEAR) return fail('birth_date_too_early');
  if (birthDate > today) return fail('birth_date_future');
  if (gb11643CheckCharacter(value.slice(0, 17)) !== value[17]) return fail('checksum');
  return { ok: true, idNumber: value, birthDate };
}
