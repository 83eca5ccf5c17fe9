import assert from 'node:assert/strict';
import { PersonalDataProtector } from '../../src/security/PersonalDataProtector';

describe('security/PersonalDataProtector', () => {
  const protector = new PersonalDataProtector(Buffer.alloc(32, 7));
  const idNumber = '35010219900307123X';

  it('decrypts what it encrypted, Chinese text included', () => {
    assert.equal(protector.decrypt(protector.encrypt(idNumber)), idNumber);
    assert.equal(protector.decrypt(protector.encrypt('福建省福州市')), '福建省福州市');
  });

  it('writes the versioned format v1:<base64 iv|tag|ciphertext> with a fresh IV each time', () => {
    const a = protector.encrypt(idNumber);
    const b = protector.encrypt(idNumber);
    assert.match(a, /^v1:[A-Za-z0-9+/]+=*$/);
    assert.notEqual(a, b);
    const packed = Buffer.from(a.slice(3), 'base64');
    assert.equal(packed.length, 12 + 16 + Buffer.byteLength(idNumber));
    assert.ok(!a.includes(idNumber));
  });

  it('refuses a value with any byte changed', () => {
    const stored = protector.encrypt(idNumber);
    const packed = Buffer.from(stored.slice(3), 'base64');
    for (const position of [0, 12, 28, packed.length - 1]) {
      const altered = Buffer.from(packed);
      altered[position] = altered[position]! ^ 0x01;
      assert.throws(() => protector.decrypt(`v1:${altered.toString('base64')}`), /authentication failed/);
    }
  });

  it('refuses an unknown version, a truncated value and another key', () => {
    const stored = protector.encrypt(idNumber);
    assert.throws(() => protector.decrypt(stored.replace(/^v1:/, 'v2:')), /unknown format/);
    assert.throws(() => protector.decrypt(idNumber), /unknown format/);
    assert.throws(() => protector.decrypt('v1:AAAA'), /truncated/);
    assert.throws(() => new PersonalDataProtector(Buffer.alloc(32, 8)).decrypt(stored), /authentication failed/);
  });

  it('gives a stable hex index that depends on the key, the value and the kind', () => {
    const index = protector.index('id_number', idNumber);
    assert.match(index, /^[0-9a-f]{64}$/);
    assert.equal(protector.index('id_number', idNumber), index);
    assert.equal(new PersonalDataProtector(Buffer.alloc(32, 7)).index('id_number', idNumber), index);
    assert.notEqual(protector.index('id_number', '350102199003071231'), index);
    assert.notEqual(new PersonalDataProtector(Buffer.alloc(32, 8)).index('id_number', idNumber), index);
  });

  it('never gives an ID number and a phone number the same index', () => {
    assert.notEqual(protector.index('id_number', '13800138000'), protector.index('phone', '13800138000'));
  });

  it('refuses a data key that is not 32 bytes', () => {
    assert.throws(() => new PersonalDataProtector(Buffer.alloc(16)), /32 bytes/);
  });
});
