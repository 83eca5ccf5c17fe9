import { createHmac, hkdfSync } from 'node:crypto';

/**
 * Keyed digests of who a counter is about (openids, client IPs), so Redis keys never hold them in
 * clear: an HMAC under a subkey of DATA_KEY that `salt` and `label` (fixed and public) keep apart
 * from its other uses.
 */
export class SubjectDigest {
  private readonly key: Buffer;

  constructor(dataKey: Buffer, salt: string, label: string) {
    this.key = Buffer.from(hkdfSync('sha256', dataKey, Buffer.from(salt), label, 32));
  }

  // 128 bits: collisions are out of reach and the keys stay short.
  of(kind: string, value: string): string {
    return createHmac('sha256', this.key).update(`${kind}\u0000${value}`, 'utf8').digest('hex').slice(0, 32);
  }
}
