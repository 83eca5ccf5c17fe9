import assert from 'node:assert/strict';
import { randomUUID, webcrypto } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { AccountService } from '../../src/accounts/AccountService';
import { systemClock } from '../../src/clock/Clock';
import { createLogger } from '../../src/logging/createLogger';
import { MemoryExpiringRecordStore } from '../../src/oidc/MemoryExpiringRecordStore';
import { readOidcClients } from '../../src/oidc/oidcClients';
import { createOidcProvider } from '../../src/oidc/oidcProvider';
import { OidcRenderer } from '../../src/oidc/OidcRenderer';
import { projectRoot } from '../../src/projectRoot';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { resetState, startLiveApp, type TestApp } from '../support/testApp';
import {
  authorizeQuery,
  CLIENT_ID,
  clientsFile,
  followToCallback,
  openLoginPage,
  pkcePair,
  postPassword,
  REDIRECT,
} from './support/oidcFixtures';

// openid-client is an ES module: loaded with import(), which this CommonJS build keeps as is.
const openidClient = import('openid-client');

/** A client's ES256 key pair: the private key stays with the client, the public JWK goes to the clients file. */
async function clientKeyPair() {
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', pair.publicKey);
  const kid = randomUUID();
  return { privateKey: { key: pair.privateKey, kid }, publicJwk: { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' } };
}

/** The clients file entry of a site that authenticates with private_key_jwt: its public keys, no secret. */
const keyClient = (publicJwk: Record<string, unknown>) => ({
  client_secret: undefined,
  token_endpoint_auth_method: 'private_key_jwt',
  jwks: { keys: [publicJwk] },
});

/**
 * ASVS 5.0 V10.4.16 strong client authentication: a site configured for `private_key_jwt` proves
 * itself at the token and revocation endpoints with an assertion signed by its own private key
 * (openid-client's PrivateKeyJwt), checked by oidc-provider against the public keys of the clients
 * file; another key, a replayed assertion and a secret are refused with invalid_client.
 */
for (const stack of ['MariaDB + Redis', 'embedded stores'] as const) {
  describe(`oidc: private_key_jwt client authentication (ASVS V10.4.16) on ${stack}`, () => {
    let live: TestApp & { url: string };
    let taxpayer: TestAccount;
    let key: Awaited<ReturnType<typeof clientKeyPair>>;
    let oc: Awaited<typeof openidClient>;

    before(async () => {
      oc = await openidClient;
      key = await clientKeyPair();
      const embedded =
        stack === 'embedded stores'
          ? {
              REDIS_URL: 'memory',
              DATABASE_URL: `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'oidc-pkjwt-')), 'demo.sqlite')}`,
            }
          : {};
      live = await startLiveApp({ env: { OIDC_CLIENTS_FILE: clientsFile(keyClient(key.publicJwk)), ...embedded } });
    });
    after(() => live?.close());
    beforeEach(async () => {
      await resetState(live.deps);
      taxpayer = await createTestAccount(live.deps, { realName: '林纳税' });
    });

    /** The site's openid-client configuration, by discovery, signing its assertions with `privateKey`. */
    const siteWith = (privateKey: webcrypto.CryptoKey | { key: webcrypto.CryptoKey; kid: string }) =>
      oc.discovery(new URL(`${live.url}/oidc`), CLIENT_ID, undefined, oc.PrivateKeyJwt(privateKey), {
        execute: [oc.allowInsecureRequests],
      });

    /** 实名用户登录 on the provider's page: the callback URL with the code, and the checks it must pass. */
    async function logIn() {
      const browser = request.agent(live.app.callback());
      const { verifier, challenge } = pkcePair();
      const query = authorizeQuery(challenge);
      const login = await openLoginPage(browser, query);
      const answer = await postPassword(browser, login, { loginName: taxpayer.idNumber, password: taxpayer.password });
      assert.equal(answer.status, 303, answer.text);
      const callback = await followToCallback(browser, answer.headers.location!);
      return {
        callback,
        checks: { pkceCodeVerifier: verifier, expectedState: query.state!, expectedNonce: query.nonce! },
      };
    }

    it('V10.4.16: discovery offers private_key_jwt with asymmetric algorithms only', async () => {
      const site = await siteWith(key.privateKey);
      const metadata = site.serverMetadata();
      assert.deepEqual([...(metadata.token_endpoint_auth_methods_supported ?? [])].sort(), [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
      ]);
      assert.deepEqual([...(metadata.token_endpoint_auth_signing_alg_values_supported ?? [])].sort(), [
        'ES256',
        'Ed25519',
        'EdDSA',
        'PS256',
        'RS256',
      ]);
    });

    it("V10.4.16: the site's signed assertion gets the tokens; another key is refused with invalid_client and leaves the code unspent", async () => {
      const { callback, checks } = await logIn();
      const stranger = await siteWith((await clientKeyPair()).privateKey.key);
      await assert.rejects(oc.authorizationCodeGrant(stranger, callback, checks), {
        error: 'invalid_client',
        status: 401,
      });

      const site = await siteWith(key.privateKey);
      const tokens = await oc.authorizationCodeGrant(site, callback, checks);
      assert.equal(tokens.claims()!.sub, taxpayer.account.id);
      assert.equal(tokens.claims()!.acr, 'urn:etax:acr:password');
      const userinfo = await oc.fetchUserInfo(site, tokens.access_token, taxpayer.account.id);
      assert.equal(userinfo.name, '林**');

      // Revocation authenticates the site the same way.
      await oc.tokenRevocation(site, tokens.access_token);
      const after = await request(live.app.callback())
        .get('/oidc/me')
        .set('Authorization', `Bearer ${tokens.access_token}`);
      assert.equal(after.status, 401, 'the revoked access token no longer works');
    });

    it('V10.4.16: a replayed client assertion (same jti) is refused with invalid_client', async () => {
      const { callback, checks } = await logIn();
      const site = await siteWith(key.privateKey);
      const sent: string[] = [];
      site[oc.customFetch] = (url, options) => {
        if (url.endsWith('/oidc/token') && options.body instanceof URLSearchParams) sent.push(options.body.toString());
        return fetch(url, options);
      };
      await oc.authorizationCodeGrant(site, callback, checks);
      assert.equal(sent.length, 1);
      assert.match(sent[0]!, /client_assertion=/);

      const { callback: second, checks: secondChecks } = await logIn();
      const replayed = new URLSearchParams(sent[0]);
      replayed.set('code', second.searchParams.get('code')!);
      replayed.set('code_verifier', secondChecks.pkceCodeVerifier);
      const res = await request(live.app.callback()).post('/oidc/token').type('form').send(replayed.toString());
      assert.equal(res.status, 401, res.text);
      assert.equal((res.body as { error: string }).error, 'invalid_client');
      // The request was otherwise good: with a fresh assertion the same code gives the tokens.
      const tokens = await oc.authorizationCodeGrant(site, second, secondChecks);
      assert.equal(tokens.claims()!.sub, taxpayer.account.id);
    });

    it('V10.4.16: a client configured for private_key_jwt cannot authenticate with a secret', async () => {
      const { callback, checks } = await logIn();
      const res = await request(live.app.callback())
        .post('/oidc/token')
        .auth(CLIENT_ID, 'a-secret-the-site-never-had-0123456789')
        .type('form')
        .send({
          grant_type: 'authorization_code',
          code: callback.searchParams.get('code'),
          redirect_uri: REDIRECT,
          code_verifier: checks.pkceCodeVerifier,
        });
      assert.equal(res.status, 401, res.text);
      assert.equal((res.body as { error: string }).error, 'invalid_client');
    });
  });
}

describe('oidc: the clients file for private_key_jwt', () => {
  it('accepts a private_key_jwt client with its public keys and no secret', async () => {
    const { publicJwk } = await clientKeyPair();
    const [client] = readOidcClients(clientsFile(keyClient(publicJwk)));
    assert.equal(client!.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(client!.client_secret, undefined);
  });

  it('refuses private_key_jwt without keys, with a secret, or with a private key; and keys on a secret client', async () => {
    const { publicJwk } = await clientKeyPair();
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ ...keyClient(publicJwk), jwks: undefined }, /private_key_jwt needs the client's public keys/],
      [{ ...keyClient(publicJwk), client_secret: 'invoice-secret-0123456789abcdef0123' }, /takes no client_secret/],
      [keyClient({ ...publicJwk, d: 'c2VjcmV0' }), /jwks must hold public keys only/],
      [keyClient({ ...publicJwk, kty: 'oct', k: 'c2VjcmV0' }), /must be equal to one of the allowed values/],
      [{ jwks: { keys: [publicJwk] } }, /jwks is for token_endpoint_auth_method private_key_jwt only/],
      [{ client_secret: undefined }, /client_secret is required/],
    ];
    for (const [entry, message] of refusals)
      assert.throws(() => readOidcClients(clientsFile(entry)), message, JSON.stringify(entry));
  });

  it('refuses at start a key oidc-provider cannot use (an EC key without its y), naming the client', async () => {
    const started = createOidcProvider({
      publicUrl: 'http://127.0.0.1:3000',
      clientsFile: clientsFile(keyClient({ kty: 'EC', crv: 'P-256', x: 'AAAA', alg: 'ES256' })),
      jwksFile: null,
      cookieSecret: 'cookie-secret-0123456789abcdef0123456789',
      dataKey: Buffer.alloc(32, 7),
      trustProxy: false,
      store: new MemoryExpiringRecordStore(systemClock),
      // Never reached: the provider is refused before any login.
      accounts: {} as AccountService,
      clock: systemClock,
      renderer: new OidcRenderer(path.join(projectRoot(), 'templates')),
      logger: createLogger('silent'),
    });
    await assert.rejects(started, /OIDC_CLIENTS_FILE is invalid: client invoice: client JSON Web Key Set is invalid/);
  });
});
