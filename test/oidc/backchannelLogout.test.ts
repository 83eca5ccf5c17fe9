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
 * OpenID Connect Back-Channel Logout: when an account's WeChat is unbound, every client holding a
 * provider session of that account gets a logout token, and the session's tokens stop working.
 */
describe('oidc: back-channel logout when the WeChat of an account is unbound', () => {
  const wechat = useSimulatedWeChat(systemClock);
  let receiver: Server;
  let received: string[];
  let t: TestApp;
  let taxpayer: TestAccount;

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200).end();
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
    const me = () => request(t.app.callback()).get('/oidc/me').set('Authorization', `Bearer ${tokens.access_token}`);
    assert.equal((await me()).status, 200);

    const unbound = await request(t.app.callback())
      .delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${bindingId}`)
      .set('Authorization', KEY);
    assert.equal(unbound.status, 204);

    assert.equal(received.length, 1);
    const logoutToken = payloadOf(received[0]!);
    assert.equal(logoutToken.sub, taxpayer.account.id);
    assert.equal(logoutToken.aud, CLIENT_ID);
    assert.equal(logoutToken.sid, payloadOf(tokens.id_token).sid);
    assert.ok((logoutToken.events as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout']);
    assert.equal((await me()).status, 401, 'the access token of the ended session is revoked');
    // The browser's provider session is gone: a new authorization asks for a login again.
    const again = await browser.get('/oidc/auth').query(authorizeQuery(pkcePair().challenge));
    assert.match(again.headers.location!, /^\/oidc\/interaction\//);
  });

  it('an account without provider sessions is unbound as before, and no client is told', async () => {
    assert.equal(await t.deps.oidc!.logout.logoutAccount(taxpayer.account.id), 0);
    assert.equal(received.length, 0);
  });
});
