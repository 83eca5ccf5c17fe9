import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const BLOCK = 32; // WeChat pads with PKCS#7 over 32-byte blocks, not AES's 16.

export interface Decrypted {
  message: string;
  /** The AppID (or receive id) carried after the message. */
  appId: string;
}

/** Thrown for a ciphertext that does not decrypt to WeChat's layout under this key. */
export class CipherError extends Error {}

/**
 * WeChat's message encryption (消息加解密): AES-256-CBC, IV = key[0..16),
 * plaintext = random(16) || uint32be(len) || msg || appid, PKCS#7 over 32-byte blocks.
 */
export class MessageCipher {
  private readonly key: Buffer;
  private readonly iv: Buffer;

  constructor(
    encodingAesKey: string,
    private readonly appId: string,
  ) {
    if (!/^[0-9A-Za-z]{43}$/.test(encodingAesKey)) throw new CipherError('EncodingAESKey must be 43 letters or digits');
    this.key = Buffer.from(`${encodingAesKey}=`, 'base64');
    if (this.key.length !== 32) throw new CipherError('EncodingAESKey must decode to 32 bytes');
    this.iv = this.key.subarray(0, 16);
  }

  encrypt(message: string, random: Buffer = randomBytes(16)): string {
    const body = Buffer.from(message, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length, 0);
    const plain = Buffer.concat([random, length, body, Buffer.from(this.appId, 'utf8')]);
    const pad = BLOCK - (plain.length % BLOCK);
    const cipher = createCipheriv('aes-256-cbc', this.key, this.iv).setAutoPadding(false);
    return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString(
      'base64',
    );
  }

  decrypt(encrypted: string): Decrypted {
    const data = Buffer.from(encrypted, 'base64');
    if (data.length === 0 || data.length % 16 !== 0) throw new CipherError('ciphertext is not whole AES blocks');
    const decipher = createDecipheriv('aes-256-cbc', this.key, this.iv).setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(data), decipher.final()]);
    const pad = plain[plain.length - 1] ?? 0;
    if (pad < 1 || pad > BLOCK || pad > plain.length || !plain.subarray(plain.length - pad).every((b) => b === pad)) {
      throw new CipherError('bad padding');
    }
    const unpadded = plain.subarray(0, plain.length - pad);
    if (unpadded.length < 20) throw new CipherError('plaintext too short');
    const length = unpadded.readUInt32BE(16);
    if (20 + length > unpadded.length) throw new CipherError('length prefix past the end');
    return {
      message: unpadded.subarray(20, 20 + length).toString('utf8'),
      appId: unpadded.subarray(20 + length).toString('utf8'),
    };
  }
}
