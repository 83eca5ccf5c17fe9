import assert from 'node:assert/strict';
import type request from 'supertest';
import supertest from 'supertest';
import { createTestApp, type TestApp } from '../support/testApp';
import { API_KEY, World } from './support/world';

type Headers = Record<string, string | string[] | undefined>;

/** The CSP directives of a header, by name. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...values] = part.split(/\s+/);
        return [name!.toLowerCase(), values];
      }),
  );
}

/**
 * What every answer must carry (ASVS V3.4.3 CSP with object-src/base-uri 'none', V3.4.4 nosniff,
 * V3.4.5 Referrer-Policy, V3.4.6 frame-ancestors); `frame` is what frame-ancestors must allow.
 */
function assertSecurityHeaders(what: string, headers: Headers, frame: "'none'" | "'self'" = "'none'") {
  const csp = headers['content-security-policy'];
  assert.equal(typeof csp, 'string', `${what}: Content-Security-Policy`);
  const policy = directives(csp as string);
  assert.deepEqual(policy.get('object-src'), ["'none'"], `${what}: object-src 'none'`);
  assert.deepEqual(policy.get('base-uri'), ["'none'"], `${what}: base-uri 'none'`);
  assert.deepEqual(policy.get('frame-ancestors'), [frame], `${what}: frame-ancestors ${frame}`);
  assert.ok(policy.has('default-src'), `${what}: default-src`);
  assert.ok(
    !/unsafe-inline|unsafe-eval|\*/.test(csp as string),
    `${what}: no unsafe-inline, unsafe-eval or wildcard (${String(csp)})`,
  );
  assert.equal(headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.equal(headers['referrer-policy'], 'same-origin', `${what}: Referrer-Policy`);
  assert.equal(headers['x-frame-options'], frame === "'self'" ? 'SAMEORIGIN' : 'DENY', `${what}: X-Frame-Options`);
  assert.equal(headers['cross-origin-opener-policy'], 'same-origin', `${what}: COOP`);
  assert.equal(headers['strict-transport-security'], undefined, `${what}: no HSTS over plain HTTP`);
  assert.equal(headers['x-powered-by'], undefined, `${what}: no X-Powered-By`);
}

describe('security: headers with a CSP on every answer (helmet; ASVS V3.4.3–V3.4.6)', () => {
  // PUBLIC_URL on the discard port: nothing here may reach out to it (the reference portal would).
  const w = new World({ env: { PORTAL_DEMO: '1', PUBLIC_URL: 'http://127.0.0.1:9' } });
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  it('V3.4.3/V3.4.6: H5 pages (200, redirects, captcha, assets, 404, 403, 503 pages) may be framed by this origin only', async () => {
    const user = w.newUser();
    const seen: [string, request.Response][] = [];
    seen.push(['H5 redirect to OAuth', await user.agent.get('/h5/bind')]);
    const page = await user.open('/h5/bind');
    assert.equal(page.status, 200);
    seen.push(['H5 page', page]);
    seen.push(['captcha image', await user.agent.get('/h5/captcha?for=bind-login')]);
    seen.push(['bad captcha request', await user.agent.get('/h5/captcha?for=nothing')]);
    seen.push(['WeUI stylesheet', await user.agent.get('/h5/static/weui.min.css')]);
    seen.push(['H5 script', await user.agent.get('/h5/static/app.js')]);
    seen.push(['H5 404 page', await user.agent.get('/h5/no-such-page')]);
    seen.push([
      'H5 CSRF refusal (403)',
      await user.post('/h5/bind/login', { loginName: 'a', password: 'b', captcha: 'c' }),
    ]);
    seen.push([
      'H5 form refusal (400)',
      await user.post('/h5/bind/login', { _csrf: user.csrfToken(page.text), loginName: '', password: '', captcha: '' }),
    ]);
    // MySQL failing under a page: the friendly 503 page.
    const bindings = w.t.deps.bindings;
    const original = bindings.findByOpenid.bind(bindings);
    bindings.findByOpenid = () =>
      Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    try {
      const failed = await user.agent.get('/h5/bind');
      assert.equal(failed.status, 503);
      seen.push(['H5 503 page', failed]);
    } finally {
      bindings.findByOpenid = original;
    }
    for (const [what, res] of seen) assertSecurityHeaders(`${what} (${res.status})`, res.headers, "'self'");
    assert.equal(
      directives(page.headers['content-security-policy'] as string)
        .get('script-src')
        ?.join(' '),
      "'self'",
    );
    assert.deepEqual(directives(page.headers['content-security-policy'] as string).get('script-src-attr'), ["'none'"]);
  });

  it('V3.4.3: the H5 pages need nothing the policy forbids: no inline script, style or handler, only same-origin assets', async () => {
    const user = w.newUser();
    const pages = [
      await user.open('/h5/bind'),
      await user.open('/h5/register'),
      await user.agent.get('/h5/no-such-page'),
    ];
    for (const page of pages) {
      assert.ok(!/<script(?![^>]*\ssrc=)[^>]*>/i.test(page.text), 'no inline <script>');
      assert.ok(!/\son[a-z]+\s*=/i.test(page.text), 'no inline event handler');
      assert.ok(!/\sstyle\s*=|<style/i.test(page.text), 'no inline style');
      for (const [, url] of page.text.matchAll(/\s(?:src|href|action)="([^"]*)"/g)) {
        assert.ok(url!.startsWith('/') && !url!.startsWith('//'), `same-origin URL: ${url}`);
      }
    }
  });

  it('V3.4.3: API answers (201, 4xx, 500 JSON), /wechat replies and refusals, health and unknown paths are never renderable pages', async () => {
    const api = w.api();
    const seen: [string, request.Response][] = [];
    seen.push(['ticket created (201)', await api.post('/api/login/tickets').set('Authorization', API_KEY).send({})]);
    seen.push(['API 401', await api.post('/api/login/tickets').send({})]);
    seen.push(['API 400', await api.post('/api/login/tickets').set('Authorization', API_KEY).type('json').send('{')]);
    seen.push(['API 404', await api.get('/api/login/tickets/unknown')]);
    seen.push(['CORS preflight', await api.options('/api/login/tickets/abc').set('Origin', 'http://portal.test')]);
    const login = w.t.deps.login;
    const original = login.view.bind(login);
    login.view = () => Promise.reject(new Error('a bug'));
    try {
      const failed = await api.get('/api/login/tickets/abc');
      assert.equal(failed.status, 500);
      seen.push(['API 500', failed]);
    } finally {
      login.view = original;
    }
    const user = w.sim.createUser('关注者');
    const push = w.driver.sign(w.driver.event(user.openid, 'subscribe'));
    const reply = await api.post('/wechat').query(push.query).type('text/xml').send(push.body);
    assert.equal(reply.status, 200);
    assert.match(reply.text, /<xml>/);
    seen.push(['/wechat reply', reply]);
    seen.push(['/wechat verification', await api.get('/wechat').query(w.driver.verification('echo-1'))]);
    seen.push([
      '/wechat 401',
      await api
        .post('/wechat')
        .query({ ...push.query, signature: 'x' })
        .type('text/xml')
        .send(push.body),
    ]);
    seen.push(['/wechat 405', await api.put('/wechat')]);
    seen.push(['/healthz', await api.get('/healthz')]);
    seen.push(['/readyz', await api.get('/readyz')]);
    for (const [what, res] of seen) {
      assertSecurityHeaders(`${what} (${res.status})`, res.headers);
      const policy = directives(res.headers['content-security-policy'] as string);
      assert.deepEqual(policy.get('default-src'), ["'none'"], `${what}: default-src 'none'`);
      assert.ok(policy.has('sandbox'), `${what}: sandbox`);
    }
    const notFound = await api.get('/no/such/path');
    assert.equal(notFound.status, 404);
    assertSecurityHeaders('404', notFound.headers);
  });

  it('V3.4.3: the reference portal and the sandbox phone keep their own, stricter CSP with the other headers', async () => {
    const api = w.api();
    const portal = await api.get('/portal/');
    assert.equal(portal.status, 200);
    const portalError = await api.post('/portal/login/password').type('form').send({ loginName: 'a' }); // no CSRF token
    assert.equal(portalError.status, 403);
    const portalMissing = await api.get('/portal/no-such-page');
    assert.equal(portalMissing.status, 404);
    const phone = await api.get('/sandbox/phone');
    assert.equal(phone.status, 200);
    for (const [what, res] of [
      ['portal page', portal],
      ['portal 403 page', portalError],
      ['portal 404 page', portalMissing],
      ['phone page', phone],
    ] as const) {
      assertSecurityHeaders(what, res.headers);
      const policy = directives(res.headers['content-security-policy'] as string);
      assert.deepEqual(policy.get('script-src'), ["'self'"], `${what}: its own script-src`);
      assert.ok(policy.has('connect-src'), `${what}: its own connect-src`);
    }
    assert.deepEqual(
      directives(phone.headers['content-security-policy'] as string).get('frame-src'),
      ["'self'", 'http:', 'https:'],
      'the phone frames the H5 pages',
    );
    assertSecurityHeaders(
      'simulator (framed by the phone)',
      (await api.get('/sandbox/wechat/connect/oauth2/authorize?appid=x')).headers,
      "'self'",
    );
    assertSecurityHeaders('phone asset', (await api.get('/sandbox/phone/static/phone.js')).headers);
  });

  describe('behind HTTPS (ASVS V3.4.1)', () => {
    let secure: TestApp;
    before(async () => {
      secure = await createTestApp({ env: { PUBLIC_URL: 'https://wx.etax.example' } });
    });
    after(() => secure.close());

    it('V3.4.1: sends HSTS (a year, subdomains) and upgrade-insecure-requests on every answer, and only when PUBLIC_URL is https', async () => {
      const api = supertest(secure.app.callback());
      for (const res of [
        await api.get('/h5/bind').set('User-Agent', 'MicroMessenger/8.0').set('X-Forwarded-Proto', 'https'),
        await api.get('/api/login/tickets/abc'),
        await api.get('/no/such/path'),
        await api.post('/wechat'),
      ]) {
        assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', `${res.status}`);
        assert.ok(res.headers['content-security-policy'], 'CSP');
      }
      const page = await api.get('/h5/no-such-page').set('User-Agent', 'MicroMessenger/8.0');
      assert.ok(directives(page.headers['content-security-policy'] as string).has('upgrade-insecure-requests'));
    });
  });
});
