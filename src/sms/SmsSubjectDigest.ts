import { createHmac, hkdfSync } from 'node:crypto';

// Fixed, public HKDF salt and label: they only separate this subkey from DATA_KEY's other uses.
const HKDF_SALT = Buffer.from('etax-wechat/sms-subjects');

/**
 * Phone numbers, client IPs and openids appear in Redis keys only as keyed digests, so a Redis dump, MONITOR
 * or slow log holds no personal data. Keyed (HMAC), because a plain hash of an 11-digit number is
 * reversed by trying them all.
 */
export class SmsSubjectDigest {
  private readonly key: Buffer;

  constructor(dataKey: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', dataKey, HKDF_SALT, 'v1 redis subjects', 32));
  }

  phone(phone: string): string {
    return this.digest('phone', phone);
  }

  ip(ip: string): string {
    return this.digest('ip', ip);
  }

  /** Who asked for an SMS code (the WeChat user's openid): the code's owner. */
  requester(id: string): string {
    return this.digest('requester', id);
  }

  // 128 bits: collisions are out of reach and the keys stay short.
  private digest(kind: string, value: string): string {
    return createHmac('sha256', this.key).update(`${kind}\u0000${value}`, 'utf8').digest('hex').slice(0, 32);
  }
}
