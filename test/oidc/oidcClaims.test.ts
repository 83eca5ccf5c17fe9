import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PairwiseSubjects } from '../../src/oidc/oidcClaims';
import { readOidcClients } from '../../src/oidc/oidcClients';

function clientsFileWith(extra: Record<string, unknown>): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'oidc-claims-')), 'clients.json');
  const client = {
    client_id: 'invoice',
    client_secret: 'invoice-secret-0123456789abcdef0123',
    redirect_uris: ['https://rp.example.gov.cn/callback'],
    ...extra,
  };
  writeFileSync(file, JSON.stringify({ clients: [client] }));
  return file;
}

describe('oidc: subjects and the scopes a client may be given', () => {
  it('gives one account the same pairwise subject within a sector and unlinkable ones across sectors', () => {
    const key = randomBytes(32);
    const subjects = new PairwiseSubjects(key);
    const same = subjects.subjectFor('rp.example.gov.cn', 'account-1');
    assert.equal(new PairwiseSubjects(key).subjectFor('rp.example.gov.cn', 'account-1'), same);
    assert.notEqual(subjects.subjectFor('invoice.example.gov.cn', 'account-1'), same);
    assert.notEqual(subjects.subjectFor('rp.example.gov.cn', 'account-2'), same);
    assert.notEqual(new PairwiseSubjects(randomBytes(32)).subjectFor('rp.example.gov.cn', 'account-1'), same);
  });

  it('accepts the known scopes, id_number included, and a pairwise subject type', () => {
    const [client] = readOidcClients(
      clientsFileWith({ scope: 'openid profile masked_identity id_number', subject_type: 'pairwise' }),
    );
    assert.equal(client!.subject_type, 'pairwise');
  });

  it('refuses a client file naming a scope the provider does not know', () => {
    assert.throws(
      () => readOidcClients(clientsFileWith({ scope: 'openid everything' })),
      /OIDC_CLIENTS_FILE is invalid/,
    );
  });
});
