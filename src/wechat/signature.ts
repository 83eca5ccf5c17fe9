import { createHash, timingSafeEqual } from 'node:crypto';

/** WeChat's SHA-1 over the lexicographically sorted parts, concatenated with no separator. */
export function wechatSignature(...parts: string[]): string {
  return createHash('sha1')
    .update([...parts].sort().join(''), 'utf8')
    .digest('hex');
}

/** Compares two hex signatures without leaking, through timing, how many leading characters match. */
export function signaturesEqual(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
