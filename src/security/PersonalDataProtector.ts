import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** What a blind index is computed for; part of the MAC input so an ID and a phone never share an index. */
export type PersonalDataKind = 'id_number' | 'phone';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Fixed, public HKDF salt and labels: they only separate the two subkeys; the secret is DATA_KEY.
const HKDF_SALT = Buffer.from('etax-wechat/personal-data');

/**
 * ID and phone numbers at rest: AES-256-GCM ciphertext (`v1:<base64 iv|tag|ciphertext>`, random
 * 96-bit IV) plus an HMAC-SHA256 blind index for lookups and uniqueness without decrypting.
 * Encryption and index use separate HKDF subkeys of DATA_KEY, so neither can stand in for the other.
 */
export class PersonalDataProtector {
  private readonly encryptionKey: Buffer;
  private readonly indexKey: Buffer;

  constructor(dataKey: Buffer) {
    if (dataKey.length !== 32) throw new Error('DATA_KEY must be 32 bytes');
    this.encryptionKey = Buffer.from(hkdfSync('sha256', dataKey, HKDF_SALT, `${VERSION} encryption`, 32));
    this.indexKey = Buffer.from(hkdfSync('sha256', dataKey, HKDF_SALT, `${VERSION} index`, 32));
  }

  encrypt(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    // The version is authenticated too, so a stored value cannot be relabelled.
    cipher.setAAD(Buffer.from(VERSION));
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
  }

  /** Throws when the value is malformed, of an unknown version, or was altered. */
  decrypt(stored: string): string {
    const separator = stored.indexOf(':');
    const version = stored.slice(0, separator);
    if (separator < 0 || version !== VERSION) throw new Error('personal data: unknown format');
    const packed = Buffer.from(stored.slice(separator + 1), 'base64');
    if (packed.length < IV_BYTES + TAG_BYTES) throw new Error('personal data: truncated value');
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, packed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(VERSION));
    decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('personal data: authentication failed (altered value or wrong DATA_KEY)');
    }
  }

  /** Hex HMAC of the value; callers normalise first (ID numbers upper-case, no spaces). */
  index(kind: PersonalDataKind, value: string): string {
    return createHmac('sha256', this.indexKey).update(`${kind}\u0000${value}`, 'utf8').digest('hex');
  }
}
