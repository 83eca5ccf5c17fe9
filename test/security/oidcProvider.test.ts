import assert from 'node:assert/strict';
import request from 'supertest';
import { systemClock } from '../../src/clock/Clock';
import { OIDC_TTL } from '../../src/oidc/oidcProvider';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { scanKeys } from '../support/redisScan';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, redisOf, resetState, type TestApp } from '../support/testApp';
import {
  authorizeQuery,
  CLIENT_ID,
  CLIENT_SECRET,
  clientsFile,
  followToCallback,
  openLoginPage,
  pkcePair,
  postPassword,
  REDIRECT,
} from '../oidc/support/oidcFixtures';

/** Attacks on the OpenID Connect provider and its login page, each named after its ASVS 5.0 requirement. */
describe('security: the OpenID Connect provider (ASVS 5.0 V10, V3)', () => {
  const wechat = useSimulatedWeChat(systemClock);
  let t: TestApp;
  let taxpayer: TestAccount;
  const http = () => request(t.app.callback());

  before(async () => {
    t = await createTestApp({ env: { OIDC_CLIENTS_FILE: clientsFile(), SANDBOX: '1', ...wechat.env() } });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    taxpayer = await createTestAccount(t.deps);
  });

  /** A code for the client, as the browser carries it back; with its verifier and request. */
  async function codeFor(extra: Record<string, string> = {}) {
    const browser = request.agent(t.app.callback());
    const { verifier, challenge } = pkcePair();
    const query = authorizeQuery(challenge, extra);
    const login = await openLoginPage(browser, query);
    const answer = await postPassword(browser, login, { loginName: taxpayer.idNumber, password: taxpayer.password });
    const callback = await followToCallback(browser, answer.headers.location!);
    return { code: callback.searchParams.get('code')!, callback, verifier, query };
  }
  const redeem = (code: string, verifier: string) =>
    http()
      .post('/oidc/token')
      .auth(CLIENT_ID, CLIENT_SECRET)
      .type('form')
      .send({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });

  it('V10.4.1 a redirect_uri that is not registered exactly (an added query or path) is refused without redirecting', async () => {
    for (const redirect of [
      `${REDIRECT}?next=https://evil.example`,
      `${REDIRECT}/`,
      REDIRECT.replace('https', 'http'),
    ]) {
      const res = await http()
        .get('/oidc/auth')
        .query(authorizeQuery(pkcePair().challenge, { redirect_uri: redirect }));
      assert.equal(res.status, 400, redirect);
      assert.equal(res.headers.location, undefined, redirect);
    }
  });

  it('V10.4.2 an authorization code is redeemed once; a replay is refused and revokes what it gave', async () => {
    const { code, verifier } = await codeFor();
    const first = await redeem(code, verifier);
    assert.equal(first.status, 200);
    const replay = await redeem(code, verifier);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    const me = await http().get('/oidc/me').set('Authorization', `Bearer ${first.body.access_token}`);
    assert.equal(me.status, 401, 'the tokens of a replayed code are revoked');
  });

  it('V10.4.3 an authorization code lives at most 60 seconds in the store', async () => {
    assert.ok(OIDC_TTL.AuthorizationCode <= 60);
    await codeFor();
    const keys: string[] = [];
    for await (const batch of scanKeys(redisOf(t.deps), `${t.deps.keys.prefix}oidc:*AuthorizationCode:*`))
      keys.push(...batch);
    const codes = keys.filter((key) => !key.endsWith(':at'));
    assert.equal(codes.length, 1);
    const ttl = await redisOf(t.deps).pTTL(codes[0]!);
    assert.ok(ttl > 0 && ttl <= 60_000, String(ttl));
  });

  it('V10.4.6 PKCE is required with S256: no challenge, the plain method (a downgrade) and a wrong verifier are refused', async () => {
    const plain = await http()
      .get('/oidc/auth')
      .query(authorizeQuery('a'.repeat(43), { code_challenge_method: 'plain' }));
    assert.equal(plain.status, 303);
    assert.equal(new URL(plain.headers.location!).searchParams.get('error'), 'invalid_request');
    const { code } = await codeFor();
    const wrong = await redeem(code, pkcePair().verifier);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
  });

  it('V10.2.1 / V10.5.1 the state comes back unchanged with the issuer, and the nonce is bound into the ID token', async () => {
    const { code, callback, verifier, query } = await codeFor();
    assert.equal(callback.searchParams.get('state'), query.state);
    assert.equal(callback.searchParams.get('iss'), 'http://127.0.0.1:3000/oidc', 'RFC 9207: mix-up defence');
    const tokens = await redeem(code, verifier);
    const idToken = JSON.parse(Buffer.from(String(tokens.body.id_token).split('.')[1]!, 'base64url').toString()) as {
      nonce: string;
    };
    assert.equal(idToken.nonce, query.nonce);
  });

  it('V10.4.4 refresh tokens only for a client configured for them: offline_access is not granted', async () => {
    const { code, verifier } = await codeFor({ scope: 'openid offline_access' });
    const tokens = await redeem(code, verifier);
    assert.equal(tokens.status, 200, tokens.text);
    assert.equal(tokens.body.refresh_token, undefined);
    const refresh = await http()
      .post('/oidc/token')
      .auth(CLIENT_ID, CLIENT_SECRET)
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: 'anything' });
    assert.equal(refresh.status, 400);
    assert.equal(typeof refresh.body.error, 'string');
    assert.equal(refresh.body.access_token, undefined);
  });

  it('V10.4.9 a revoked access token stops working at once', async () => {
    const { code, verifier } = await codeFor();
    const tokens = await redeem(code, verifier);
    const revoked = await http()
      .post('/oidc/token/revocation')
      .auth(CLIENT_ID, CLIENT_SECRET)
      .type('form')
      .send({ token: tokens.body.access_token, token_type_hint: 'access_token' });
    assert.equal(revoked.status, 200);
    const me = await http().get('/oidc/me').set('Authorization', `Bearer ${tokens.body.access_token}`);
    assert.equal(me.status, 401);
  });

  it('V3.4.6 the login page cannot be framed (clickjacking) and allows no inline script', async () => {
    const browser = request.agent(t.app.callback());
    const { page } = await openLoginPage(browser, authorizeQuery(pkcePair().challenge));
    const res = await browser.get(page);
    const csp = res.headers['content-security-policy']!;
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
  });

  it("V3.5.1 the login page's forms need the interaction's own CSRF token and this origin", async () => {
    const victim = request.agent(t.app.callback());
    const login = await openLoginPage(victim, authorizeQuery(pkcePair().challenge));
    const attacker = await openLoginPage(request.agent(t.app.callback()), authorizeQuery(pkcePair().challenge));
    const attempts = [{}, { _csrf: attacker.csrf }, { _csrf: `${login.csrf.slice(0, -1)}x` }];
    for (const extra of attempts) {
      const res = await victim
        .post(`${login.page}/password`)
        .type('form')
        .send({ loginName: taxpayer.idNumber, password: taxpayer.password, captcha: 'XXXX', ...extra });
      assert.equal(res.status, 403, JSON.stringify(extra));
      assert.equal(res.headers.location, undefined);
    }
    const crossSite = await victim
      .post(`${login.page}/password`)
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ _csrf: login.csrf, loginName: taxpayer.idNumber, password: taxpayer.password, captcha: 'XXXX' });
    assert.equal(crossSite.status, 403);
  });

  it('bad requests get the standard OAuth errors, never a 5xx', async () => {
    const answers = await Promise.all([
      http().get('/oidc/auth').query({ client_id: 'nobody', response_type: 'code' }),
      http().get('/oidc/auth').query({ client_id: CLIENT_ID, redirect_uri: REDIRECT, response_type: 'token' }),
      http().post('/oidc/token').type('form').send({ grant_type: 'authorization_code', code: 'x' }),
      http()
        .post('/oidc/token')
        .auth(CLIENT_ID, 'wrong-secret-0123456789abcdef0123')
        .type('form')
        .send({ grant_type: 'authorization_code' }),
      http().get('/oidc/me').set('Authorization', 'Bearer not-a-token'),
      http().get('/oidc/interaction/unknown-uid'),
      http().post('/oidc/interaction/unknown-uid/password').type('form').send({ _csrf: 'x' }),
    ]);
    for (const res of answers) {
      // An error the client can be told of goes back to its redirect URI, as OAuth says.
      const redirected = res.status === 303 && /[#?&]error=/.test(res.headers.location ?? '');
      assert.ok(redirected || (res.status >= 400 && res.status < 500), `${res.status} ${res.text.slice(0, 200)}`);
    }
    assert.equal(answers[2].body.error, 'invalid_request');
    assert.equal(answers[3].body.error, 'invalid_client');
    assert.equal(answers[4].body.error, 'invalid_token');
  });
});
