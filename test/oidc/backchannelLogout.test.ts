import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { systemClock } from '../../src/clock/Clock';
import { createTestAccount, type TestAccount } from '../support/accountFixtures';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';
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
} from './support/oidcFixtures';

const KEY = `Bearer ${testEnvironment().PORTAL_API_KEYS}`;
const payloadOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * OpenID Connect Back-Channel Logout: when an account's WeChat is unbound or its password is reset
 * or changed, every client holding a provider session of that account gets a logout token, and the
 * session's tokens stop working.
 */
describe('oidc: back-channel logout when the WeChat of an account is unbound or its password is new', () => {
  const wechat = useSimulatedWeChat(systemClock);
  let receiver: Server;
  let received: string[];
  /** What the client's back-channel logout endpoint answers. */
  let receiverStatus: number;
  let t: TestApp;
  let taxpayer: TestAccount;

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(receiverStatus).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    const file = clientsFile({
      backchannel_logout_uri: `http://127.0.0.1:${port}/backchannel-logout`,
      backchannel_logout_session_required: true,
    });
    t = await createTestApp({ env: { OIDC_CLIENTS_FILE: file, SANDBOX: '1', ...wechat.env() } });
  });
  after(async () => {
    await t.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });
  beforeEach(async () => {
    received = [];
    receiverStatus = 200;
    await resetState(t.deps);
    taxpayer = await createTestAccount(t.deps, { realName: '林纳税' });
  });

  async function logIn() {
    const browser = request.agent(t.app.callback());
    const { verifier, challenge } = pkcePair();
    const login = await openLoginPage(browser, authorizeQuery(challenge));
    const answer = await postPassword(browser, login, { loginName: taxpayer.idNumber, password: taxpayer.password });
    const callback = await followToCallback(browser, answer.headers.location!);
    const tokens = await request(t.app.callback())
      .post('/oidc/token')
      .auth(CLIENT_ID, CLIENT_SECRET)
      .type('form')
      .send({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code'),
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      });
    assert.equal(tokens.status, 200, tokens.text);
    return { browser, tokens: tokens.body as { access_token: string; id_token: string } };
  }

  const api = () => request(t.app.callback());
  const userinfo = (accessToken: string) => api().get('/oidc/me').set('Authorization', `Bearer ${accessToken}`);

  /** The client was sent one logout token for the session of `tokens`, whose tokens and browser session are over. */
  async function assertLoggedOut(
    browser: ReturnType<typeof request.agent>,
    tokens: { access_token: string; id_token: string },
  ) {
    assert.equal(received.length, 1);
    const logoutToken = payloadOf(received[0]!);
    assert.equal(logoutToken.sub, taxpayer.account.id);
    assert.equal(logoutToken.aud, CLIENT_ID);
    assert.equal(logoutToken.sid, payloadOf(tokens.id_token).sid);
    assert.ok((logoutToken.events as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout']);
    assert.equal((await userinfo(tokens.access_token)).status, 401, 'the access token of the ended session is revoked');
    // The browser's provider session is gone: a new authorization asks for a login again.
    const again = await browser.get('/oidc/auth').query(authorizeQuery(pkcePair().challenge));
    assert.match(again.headers.location!, /^\/oidc\/interaction\//);
  }

  const changePassword = (currentPassword: string, newPassword: string) =>
    api()
      .post(`/api/accounts/${taxpayer.account.id}/password`)
      .set('Authorization', KEY)
      .send({ currentPassword, newPassword });

  it('unbinding through the portal API sends the client a logout token and ends the session and its tokens', async () => {
    const { browser, tokens } = await logIn();
    const bindingId = randomUUID();
    await t.deps.db.getRepository(WechatBindingEntity).insert({
      id: bindingId,
      accountId: taxpayer.account.id,
      openid: wechat.sim.createUser('林纳税的微信').openid,
      unionid: null,
      nickname: null,
      subscribed: true,
      boundAt: new Date(),
    });
    assert.equal((await userinfo(tokens.access_token)).status, 200);

    const unbound = await api()
      .delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${bindingId}`)
      .set('Authorization', KEY);
    assert.equal(unbound.status, 204);

    await assertLoggedOut(browser, tokens);
  });

  it('忘记密码 through the portal API sends the client a logout token and ends the session and its tokens', async () => {
    const { browser, tokens } = await logIn();
    assert.equal((await userinfo(tokens.access_token)).status, 200);

    const started = await api()
      .post('/api/password-resets')
      .set('Authorization', KEY)
      .send({ realName: '林纳税', idNumber: taxpayer.idNumber });
    assert.equal(started.status, 202, started.text);
    const { resetId } = started.body as { resetId: string };
    await t.deps.passwords.idle();
    const smsCode = t.deps.smsOutbox!.forPhone(taxpayer.phone).at(-1)!.code;
    const verified = await api()
      .post(`/api/password-resets/${resetId}/verify`)
      .set('Authorization', KEY)
      .send({ smsCode });
    assert.equal(verified.status, 204, verified.text);
    assert.equal(received.length, 0, 'nothing is ended before the new password is set');
    const done = await api()
      .post(`/api/password-resets/${resetId}/password`)
      .set('Authorization', KEY)
      .send({ newPassword: 'Xin-mima-2026' });
    assert.equal(done.status, 204, done.text);

    await assertLoggedOut(browser, tokens);
  });

  it('修改密码 through the portal API sends the client a logout token and ends the session and its tokens', async () => {
    const { browser, tokens } = await logIn();
    assert.equal((await userinfo(tokens.access_token)).status, 200);

    assert.equal((await changePassword('Not-it-2026', 'Gai-mima-2026')).status, 401);
    assert.equal(received.length, 0, 'a refused change ends nothing');
    assert.equal((await userinfo(tokens.access_token)).status, 200);

    assert.equal((await changePassword(taxpayer.password, 'Gai-mima-2026')).status, 204);

    await assertLoggedOut(browser, tokens);
  });

  it('a client that refuses the logout token does not fail the password change, and its session still ends', async () => {
    const { browser, tokens } = await logIn();
    receiverStatus = 503;

    assert.equal((await changePassword(taxpayer.password, 'Gai-mima-2026')).status, 204);

    await assertLoggedOut(browser, tokens);
    const context = { ip: '10.0.0.1', userAgent: 't' };
    assert.equal((await t.deps.accounts.authenticate(taxpayer.idNumber, 'Gai-mima-2026', context)).ok, true);
  });

  it('an account without provider sessions is unbound as before, and no client is told', async () => {
    assert.equal(await t.deps.oidc!.logout.logoutAccount(taxpayer.account.id), 0);
    assert.equal(received.length, 0);
  });
});
