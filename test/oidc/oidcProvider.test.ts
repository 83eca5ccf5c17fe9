import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createTestApp, type TestApp } from '../support/testApp';

const REDIRECT = 'https://rp.example.gov.cn/callback';

function clientsFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'oidc-'));
  const file = path.join(dir, 'clients.json');
  const client = {
    client_id: 'invoice',
    client_secret: 'invoice-secret-0123456789abcdef0123',
    redirect_uris: [REDIRECT],
  };
  writeFileSync(file, JSON.stringify({ clients: [client] }));
  return file;
}

describe('oidc: the provider under /oidc', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    const env = { OIDC_CLIENTS_FILE: clientsFile() };
    a = await createTestApp({ env });
    b = await createTestApp({ env });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('publishes discovery with the code flow, S256 PKCE, revocation and logout', async () => {
    const res = await request(a.app.callback()).get('/oidc/.well-known/openid-configuration');
    assert.equal(res.status, 200);
    assert.equal(res.body.issuer, 'http://127.0.0.1:3000/oidc');
    assert.deepEqual(res.body.response_types_supported, ['code']);
    assert.deepEqual(res.body.code_challenge_methods_supported, ['S256']);
    assert.ok(res.body.revocation_endpoint);
    assert.ok(res.body.end_session_endpoint);
    assert.ok(res.body.userinfo_endpoint);
  });

  it('publishes the claim set, the acr values and both subject types', async () => {
    const res = await request(a.app.callback()).get('/oidc/.well-known/openid-configuration');
    for (const scope of ['openid', 'profile', 'masked_identity', 'id_number'])
      assert.ok(res.body.scopes_supported.includes(scope), scope);
    for (const claim of ['sub', 'name', 'masked_id_number', 'masked_phone_number', 'id_number', 'acr', 'auth_time'])
      assert.ok(res.body.claims_supported.includes(claim), claim);
    assert.deepEqual(res.body.acr_values_supported, ['urn:etax:acr:wechat-bound', 'urn:etax:acr:password']);
    assert.deepEqual([...res.body.subject_types_supported].sort(), ['pairwise', 'public']);
  });

  it('serves the public signing keys only', async () => {
    const res = await request(a.app.callback()).get('/oidc/jwks');
    assert.equal(res.status, 200);
    assert.equal(res.body.keys.length, 1);
    assert.equal(res.body.keys[0].d, undefined);
  });

  it('refuses an authorization request without PKCE with the standard error (no 5xx)', async () => {
    const res = await request(a.app.callback())
      .get('/oidc/auth')
      .query({ client_id: 'invoice', redirect_uri: REDIRECT, response_type: 'code', scope: 'openid', state: 's1' });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.location!);
    assert.equal(location.origin + location.pathname, REDIRECT);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /PKCE/);
  });

  it('refuses a redirect_uri that is not registered exactly, without redirecting to it', async () => {
    const res = await request(a.app.callback())
      .get('/oidc/auth')
      .query({
        client_id: 'invoice',
        redirect_uri: `${REDIRECT}/../evil`,
        response_type: 'code',
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      });
    assert.equal(res.status, 400);
    assert.equal(res.headers.location, undefined);
  });

  it('lets another instance sharing Redis continue an interaction one instance started', async () => {
    const started = await request(a.app.callback()).get('/oidc/auth').query({
      client_id: 'invoice',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid',
      state: 's2',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    assert.equal(started.status, 303);
    const interaction = started.headers.location!;
    assert.match(interaction, /^\/oidc\/interaction\/[\w-]+$/);
    const uid = interaction.split('/').pop()!;
    const stored = await b.deps.redis!.keys(`${b.deps.keys.prefix}oidc:{r:Interaction:${uid}}`);
    assert.equal(stored.length, 1);
  });
});
