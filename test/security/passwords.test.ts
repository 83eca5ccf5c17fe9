import assert from 'node:assert/strict';
import argon2 from 'argon2';
import {
  ARGON2_PARAMETERS,
  DUMMY_PASSWORD_HASH,
  hashPassword,
  verifyPassword,
  verifyPasswordOfUnknownAccount,
} from '../../src/security/passwords';

describe('security/passwords', () => {
  it('hashes with argon2id and a fresh salt, and verifies only the right password', async () => {
    const hash = await hashPassword('Fj-tax-2025!');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    assert.notEqual(await hashPassword('Fj-tax-2025!'), hash);
    assert.equal(await verifyPassword(hash, 'Fj-tax-2025!'), true);
    assert.equal(await verifyPassword(hash, 'Fj-tax-2025?'), false);
    assert.equal(await verifyPassword(hash, ''), false);
  });

  it('keeps the dummy hash on the current parameters, so an unknown account costs a real verification', () => {
    assert.equal(argon2.needsRehash(DUMMY_PASSWORD_HASH, ARGON2_PARAMETERS), false);
    assert.match(DUMMY_PASSWORD_HASH, /^\$argon2id\$/);
  });

  it('answers false for an unknown account, whatever the password', async () => {
    assert.equal(await verifyPasswordOfUnknownAccount('Fj-tax-2025!'), false);
    assert.equal(await verifyPasswordOfUnknownAccount(''), false);
  });
});
