/*
 * The shapes of the personal numbers a 登录账号 may be. These are format checks only (used to
 * pick a lookup and to mask); full GB 11643 validation (checksum, birth date, province) belongs to
 * registration.
 */

/** 18 characters: 17 digits and a check character, the X written either case. */
export function looksLikeIdNumber(value: string): boolean {
  return /^\d{17}[\dXx]$/.test(value);
}

/** A mainland mobile number: 11 digits starting 13–19. */
export function looksLikeMobileNumber(value: string): boolean {
  return /^1[3-9]\d{9}$/.test(value);
}

/** ID numbers are stored and indexed upper-case (the check character X). */
export function normalizeIdNumber(idNumber: string): string {
  return idNumber.trim().toUpperCase();
}

/** The most digits a chosen login name may hold: fewer than any mobile (11) or ID number (17+), however spaced. */
const LOGIN_NAME_MAX_DIGITS = 10;

/**
 * Whether a chosen login name is acceptable at rest: login names are stored in clear, so one that
 * could carry an ID or mobile number (with or without separators) is refused.
 */
export function isAllowedLoginName(value: string): boolean {
  return (value.match(/\d/g)?.length ?? 0) <= LOGIN_NAME_MAX_DIGITS;
}
