import { createHash, randomBytes, randomInt } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random characters from [A-Za-z0-9_-], the alphabet of WeChat tokens and openids. */
export function randomUrlSafe(length: number): string {
  return randomBytes(Math.ceil((length * 3) / 4) + 3)
    .toString('base64url')
    .slice(0, length);
}

/** Random characters from [A-Za-z0-9], the alphabet of OAuth codes and QR short links. */
export function randomAlphanumeric(length: number): string {
  let text = '';
  for (let i = 0; i < length; i += 1) text += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return text;
}

/**
 * A 28-character openid like WeChat's: 'o', then a few characters fixed per account (real openids
 * of one account share their first six characters), then random ones.
 */
export function randomOpenId(appId: string): string {
  const accountPart = createHash('sha256').update(appId).digest('base64url').slice(0, 5);
  return `o${accountPart}${randomUrlSafe(22)}`;
}
