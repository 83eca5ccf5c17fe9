import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import request from 'supertest';
import { loadConfig } from '../../src/config/loadConfig';
import { SIMULATOR_PATH } from '../../src/dependencies';
import { MAX_WEB_AUTHORIZATIONS } from '../../src/sandbox/simulator/WebAuthorization';
import { MAX_RECORDED, type WeChatSimulator } from '../../src/sandbox/simulator/WeChatSimulator';
import { injector } from '../fuzz/support/inject';
import { ServiceProcess } from '../reliability/support/serviceProcess';
import { createTestApp, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const env = testEnvironment();
const PUBLIC_URL = env.PUBLIC_URL!;
const PHONE = '13800138000';

/** The first non-loopback IPv4 address of this machine, if it has one. */
function lanAddress(): string | null {
  for (const addresses of Object.values(networkInterfaces()))
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  return null;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The sandbox (SANDBOX=1, the demo) plays WeChat and shows SMS codes: tried from outside, its
 * simulated OAuth sent a victim's code to any redirect_uri, a DNS-rebinding page passed the phone's
 * origin check with its own Host, anyone on the LAN read /sandbox/sms, and its logs and code stores
 * grew without bound.
 */
describe('security: the sandbox cannot be driven from outside (ASVS V10.4.1, V3.5.1, V13.4.2, V15.2.2)', () => {
  let t: TestApp;
  let simulator: WeChatSimulator;
  before(async () => {
    t = await createTestApp();
    simulator = t.deps.simulator!;
  });
  after(() => t.close());

  const authorize = (redirectUri: string, openid: string) =>
    request(t.app.callback())
      .get(
        `${SIMULATOR_PATH}/connect/oauth2/authorize?${new URLSearchParams({
          appid: env.WECHAT_APPID!,
          redirect_uri: redirectUri,
          response_type: 'code',
          scope: 'snsapi_base',
          state: 's1',
        }).toString()}`,
      )
      .set('X-Sim-Openid', openid)
      .then((r) => r);

  it("V10.4.1: the simulated OAuth sends a code only to a redirect_uri under PUBLIC_URL (WeChat's 网页授权域名)", async () => {
    const victim = simulator.createUser('受害人');
    const before = simulator.webAuthorizationsHeld.codes;
    for (const stealer of [
      'https://evil.example/steal',
      `${PUBLIC_URL}.evil.example/h5/oauth/callback`,
      `http://127.0.0.1:3000@evil.example/h5/oauth/callback`,
      'http://127.0.0.1:3001/h5/oauth/callback',
      `${PUBLIC_URL.replace('http:', 'https:')}/h5/oauth/callback`,
    ]) {
      const res = await authorize(stealer, victim.openid);
      assert.equal(res.status, 200, stealer);
      assert.equal(res.headers.location, undefined, `no redirect to ${stealer}`);
      assert.match(res.text, /10003/);
    }
    assert.equal(simulator.webAuthorizationsHeld.codes, before, 'no code was issued');
    const ours = await authorize(`${PUBLIC_URL}/h5/oauth/callback`, victim.openid);
    assert.equal(ours.status, 302);
    assert.match(ours.headers.location!, new RegExp(`^${PUBLIC_URL}/h5/oauth/callback\\?code=\\w+&state=s1$`));
  });

  it('V3.5.1: a DNS-rebinding page (its own name in Host and Origin) neither drives the phone nor reads SMS codes', async () => {
    const rebound = { Host: 'evil.example:3000', Origin: 'http://evil.example:3000' };
    const api = () => request(t.app.callback());
    const created = await api().post('/sandbox/phone/api/users').set(rebound).send({ nickname: '坏人' });
    assert.equal(created.status, 403);
    assert.equal((created.body as { error: { code: string } }).error.code, 'foreign_host');
    for (const path of [
      '/sandbox/phone/api/users',
      `/sandbox/phone/api/sms?phone=${PHONE}`,
      `/sandbox/sms?phone=${PHONE}`,
    ]) {
      const res = await api().get(path).set('Host', rebound.Host);
      assert.equal(res.status, 403, path);
      assert.doesNotMatch(res.text, /"code":"\d{6}"/);
    }
    // The sandbox's own page, on PUBLIC_URL's host, still works; a foreign Origin on our Host does not.
    assert.equal((await api().get(`/sandbox/sms?phone=${PHONE}`)).status, 200);
    const ownPage = await api().post('/sandbox/phone/api/users').set('Origin', PUBLIC_URL).send({ nickname: '本机' });
    assert.equal(ownPage.status, 201);
    const foreign = await api()
      .post('/sandbox/phone/api/users')
      .set('Origin', 'http://evil.example')
      .send({ nickname: 'x' });
    assert.equal(foreign.status, 403);
  });

  it(`V15.2.2: the simulator keeps at most ${MAX_WEB_AUTHORIZATIONS.toLocaleString('en')} OAuth codes and its last ${MAX_RECORDED} calls, however many are asked for`, async () => {
    const user = simulator.createUser('大量授权');
    const inject = injector(simulator.app);
    const query = new URLSearchParams({
      appid: env.WECHAT_APPID!,
      redirect_uri: `${PUBLIC_URL}/h5/oauth/callback`,
      response_type: 'code',
      scope: 'snsapi_base',
      state: 's',
    }).toString();
    for (let i = 0; i < MAX_WEB_AUTHORIZATIONS + 2000; i++) {
      const res = await inject({
        method: 'GET',
        url: `/connect/oauth2/authorize?${query}`,
        headers: { 'X-Sim-Openid': user.openid },
      });
      assert.equal(res.status, 302);
    }
    assert.equal(simulator.webAuthorizationsHeld.codes, MAX_WEB_AUTHORIZATIONS);
    assert.equal(simulator.calls.length, MAX_RECORDED);
  });

  describe('where it listens', () => {
    it('V13.4.2: HOST defaults to 127.0.0.1 with SANDBOX=1, every interface without; HOST says otherwise', () => {
      assert.equal(loadConfig(testEnvironment()).host, '127.0.0.1');
      assert.equal(loadConfig(testEnvironment({ SANDBOX: '0' })).host, null);
      assert.equal(loadConfig(testEnvironment({ HOST: '0.0.0.0' })).host, '0.0.0.0');
      assert.equal(loadConfig(testEnvironment({ SANDBOX: '0', HOST: '::1' })).host, '::1');
      assert.throws(() => loadConfig(testEnvironment({ HOST: 'example.com' })), /HOST must be an IP address/);
    });

    it('V13.4.2: a SANDBOX=1 server answers on loopback only, not on the LAN address', async function () {
      this.timeout(90_000);
      const service = await ServiceProcess.start('src/server.ts', { LOG_LEVEL: 'info' });
      try {
        const listening = await service.logLine('listening');
        assert.equal(listening.host, '127.0.0.1');
        assert.equal(await connects('127.0.0.1', service.port), true);
        const lan = lanAddress();
        if (lan) assert.equal(await connects(lan, service.port), false, `not reachable at ${lan}`);
      } finally {
        await service.dispose();
      }
    });
  });
});
