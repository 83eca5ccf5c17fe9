import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CipherError, MessageCipher } from '../../src/wechat/MessageCipher';
import { signaturesEqual, wechatSignature } from '../../src/wechat/signature';

interface Vectors {
  plain_signature: { id: string; token: string; timestamp: string; nonce: string; signature: string }[];
  encrypt_fixed_random: {
    id: string;
    encodingAESKey: string;
    appid: string;
    random16: string;
    plaintext: string;
    encrypt: string;
    token?: string;
    reply_timestamp?: string;
    reply_nonce?: string;
    reply_msg_signature?: string;
  }[];
  decrypt: {
    id: string;
    token: string;
    encodingAESKey: string;
    appid: string;
    timestamp: string;
    nonce: string;
    msg_signature: string;
    encrypt: string;
    expected: { plaintext: string; receive_id: string };
  }[];
}

export const vectorsDir = path.resolve(__dirname, '../fixtures/wechat');
const vectors = JSON.parse(readFileSync(path.join(vectorsDir, 'crypto.json'), 'utf8')) as Vectors;

describe('wechat/MessageCipher and signatures (official vectors)', () => {
  for (const v of vectors.plain_signature) {
    it(`computes the plain signature of ${v.id}`, () => {
      assert.equal(wechatSignature(v.token, v.timestamp, v.nonce), v.signature);
      assert.ok(signaturesEqual(v.signature, v.signature.toUpperCase()));
      assert.ok(
        !signaturesEqual(
          v.signature,
          v.signature.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
        ),
      );
    });
  }

  for (const v of vectors.encrypt_fixed_random) {
    it(`encrypts ${v.id} byte for byte with its fixed random`, () => {
      const cipher = new MessageCipher(v.encodingAESKey, v.appid);
      const encrypted = cipher.encrypt(v.plaintext, Buffer.from(v.random16, 'utf8'));
      assert.equal(encrypted, v.encrypt);
      if (v.token && v.reply_timestamp && v.reply_nonce && v.reply_msg_signature) {
        assert.equal(wechatSignature(v.token, v.reply_timestamp, v.reply_nonce, encrypted), v.reply_msg_signature);
      }
    });
  }

  for (const v of vectors.decrypt) {
    it(`verifies and decrypts ${v.id}`, () => {
      assert.equal(wechatSignature(v.token, v.timestamp, v.nonce, v.encrypt), v.msg_signature);
      const decrypted = new MessageCipher(v.encodingAESKey, v.appid).decrypt(v.encrypt);
      assert.equal(decrypted.message, v.expected.plaintext);
      assert.equal(decrypted.appId, v.expected.receive_id);
    });
  }

  it('refuses a ciphertext under another key instead of returning garbage', () => {
    const v = vectors.decrypt[0]!;
    const other = new MessageCipher('A'.repeat(43), v.appid);
    assert.throws(() => other.decrypt(v.encrypt), CipherError);
  });

  it('refuses an EncodingAESKey that is not 43 characters', () => {
    assert.throws(() => new MessageCipher('short', 'wx0000000000000000'), CipherError);
  });
});
