import assert from 'node:assert/strict';
import { wechatSignature } from '../../src/wechat/signature';
import { API_KEY, env, World } from '../security/support/world';
import { injector, type InjectRequest } from './support/inject';

/** The fuzz suites' in-process injector answers exactly as a real HTTP round trip (supertest) does. */
describe('fuzz support: the in-process injector', () => {
  const w = new World();
  before(async () => {
    await w.start();
    await w.reset();
  });
  after(() => w.stop());

  it('gives the status, body and headers supertest gets, for GETs, JSON and XML POSTs, refusals and 404s', async () => {
    const inject = injector(w.t.app);
    const ts = String(Math.floor(w.clock.now() / 1000));
    const push = w.driver.sign(w.driver.event(w.sim.createUser('关注').openid, 'CLICK', 'NO_SUCH_KEY'));
    const requests: InjectRequest[] = [
      { method: 'GET', url: '/healthz' },
      { method: 'GET', url: '/api/login/tickets/unknown?wait=x' },
      {
        method: 'POST',
        url: '/api/accounts/authenticate',
        headers: { authorization: API_KEY, 'content-type': 'application/json' },
        body: '{"loginName":1}',
      },
      {
        method: 'POST',
        url: `/wechat?${new URLSearchParams(push.query).toString()}`,
        headers: { 'content-type': 'text/xml' },
        body: push.body,
      },
      {
        method: 'GET',
        url: `/wechat?signature=${wechatSignature(env.WECHAT_TOKEN!, ts, '1')}&timestamp=${ts}&nonce=1&echostr=hello`,
      },
      {
        method: 'POST',
        url: '/h5/bind/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1',
      },
      { method: 'GET', url: '/no/such/path' },
    ];
    for (const r of requests) {
      const injected = await inject(r);
      let test = w.api()[r.method.toLowerCase() as 'get' | 'post'](r.url);
      for (const [name, value] of Object.entries(r.headers ?? {})) test = test.set(name, value);
      const real = await (r.body === undefined ? test : test.send(r.body));
      const what = `${r.method} ${r.url.split('?')[0]}`;
      assert.equal(injected.status, real.status, what);
      // (The push's second delivery is answered from the first: the same reply document.)
      assert.equal(injected.text, real.text, what);
      for (const header of ['content-type', 'content-security-policy', 'cache-control', 'x-frame-options']) {
        assert.equal(String(injected.headers[header] ?? ''), String(real.headers[header] ?? ''), `${what}: ${header}`);
      }
    }
  });
});
