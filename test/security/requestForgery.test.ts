import assert from 'node:assert/strict';
import request from 'supertest';
import { visibleText, type H5Client } from '../support/H5Client';
import { assertNoRedisChange, redisChange, StateWatch } from '../fuzz/support/stateWatch';
import { API_KEY, env, World } from './support/world';

/**
 * ASVS V3.5: browser-based request forgery. Every state change is a POST carrying the session's
 * CSRF token from this origin (H5), or needs the portal key in a header no cross-site form can send
 * (API), or WeChat's signature (/wechat); nothing changes through GET. The portal's own forms are
 * covered in test/portal/portalRoutes.test.ts ('refuses a POST without the session's CSRF token or
 * from another origin').
 */
describe('security: request forgery (ASVS V3.5.1, V3.5.3)', () => {
  const w = new World();
  let watch: StateWatch;
  before(async () => {
    await w.start();
    watch = new StateWatch(w.t.deps);
    watch.start();
  });
  after(async () => {
    watch?.stop();
    await w.stop();
  });
  beforeEach(() => w.reset());

  /** A user past 登录 with an SMS code for its account's phone; a ticket scanned by another, on its confirm page. */
  async function scene() {
    const taxpayer = await w.quickAccount();
    const binder = w.newUser('绑定中');
    const { csrf: bindCsrf, code } = await w.bindUpToConfirm(binder, taxpayer);
    const phone = w.newUser('扫码人');
    const scanned = await w.scannedTicket(phone, await w.quickAccount());
    const registrant = w.newUser('注册人');
    const registerCsrf = registrant.csrfToken((await registrant.open('/h5/register')).text);
    return { taxpayer, binder, bindCsrf, code, phone, scanned, registrant, registerCsrf };
  }

  it("V3.5.1: refuses every H5 form without the session's token, with another's, or from another Origin, changing nothing; accepts it from the page", async () => {
    const s = await scene();
    const forms: [H5Client, string, string, Record<string, string>][] = [
      [
        s.binder,
        '/h5/bind/login',
        s.bindCsrf,
        { loginName: s.taxpayer.idNumber, password: s.taxpayer.password, captcha: 'ABCD' },
      ],
      [s.binder, '/h5/bind/sms', s.bindCsrf, { phone: s.taxpayer.phone }],
      [s.binder, '/h5/bind/sms/send', s.bindCsrf, { captcha: 'ABCD' }],
      [s.binder, '/h5/bind/confirm', s.bindCsrf, { phone: s.taxpayer.phone, smsCode: s.code }],
      [
        s.registrant,
        '/h5/register',
        s.registerCsrf,
        { ...w.newForm(), captcha: '', smsCode: '123456', confirmPassword: 'x' },
      ],
      [s.registrant, '/h5/register/sms', s.registerCsrf, { ...w.newForm(), captcha: 'ABCD' }],
      [s.phone, '/h5/login/confirm', s.scanned.csrf, { c: s.scanned.token }],
      [s.phone, '/h5/login/cancel', s.scanned.csrf, { c: s.scanned.token }],
    ];
    const strangersToken = s.registerCsrf;
    for (const [client, action, csrf, fields] of forms) {
      const forged: [string, () => Promise<request.Response>][] = [
        ['no token', () => client.post(action, fields)],
        ['a wrong token', () => client.post(action, { ...fields, _csrf: `${csrf.slice(0, -2)}xx` })],
        [
          "another session's token",
          () => client.post(action, { ...fields, _csrf: client === s.registrant ? s.bindCsrf : strangersToken }),
        ],
        [
          'a token in the query',
          () =>
            client.agent
              .post(`${action}?_csrf=${encodeURIComponent(csrf)}`)
              .type('form')
              .send(fields)
              .then((r) => r),
        ],
        [
          'a cross-site Origin',
          () =>
            client.agent
              .post(action)
              .set('Origin', 'https://evil.example')
              .type('form')
              .send({ ...fields, _csrf: csrf })
              .then((r) => r),
        ],
        [
          'Origin null',
          () =>
            client.agent
              .post(action)
              .set('Origin', 'null')
              .type('form')
              .send({ ...fields, _csrf: csrf })
              .then((r) => r),
        ],
        [
          'a JSON body',
          () =>
            client.agent
              .post(action)
              .type('json')
              .send({ ...fields, _csrf: csrf })
              .then((r) => r),
        ],
      ];
      for (const [what, send] of forged) {
        const before = await watch.redis();
        watch.takeWrites();
        const res = await send();
        assert.equal(res.status, 403, `${action} with ${what}`);
        assert.match(visibleText(res.text), /页面已过期/);
        assertNoRedisChange(redisChange(before, await watch.redis()), `${action} with ${what}`);
        assert.deepEqual(watch.takeWrites(), [], `${action} with ${what}: MySQL untouched`);
      }
    }
    // The page's own posts go through (past the CSRF check: whatever the form then says).
    for (const [client, action, csrf, fields] of forms.filter(([, a]) => !a.startsWith('/h5/login/'))) {
      const res = await client.agent
        .post(action)
        .set('Origin', new URL(env.PUBLIC_URL!).origin)
        .type('form')
        .send({ ...fields, _csrf: csrf });
      assert.notEqual(res.status, 403, `${action} from the page`);
    }
    assert.equal(await w.bindings().countBy({ accountId: s.taxpayer.account.id }), 1, 'the real 确定绑定 bound');
  });

  it("V3.5.1: accepts no CORS-safelisted cross-site request on the API: every change needs the key in Authorization (or WeChat's signature)", async () => {
    const taxpayer = await w.quickAccount();
    const openid = w.sim.createUser('被解绑').openid;
    const bindingId = await w.insertBinding(openid, taxpayer);
    const ticket = await w.createTicket();
    const api = () => request(w.t.app.callback());
    const crossSite = { Origin: 'https://evil.example' };
    for (const type of ['form', 'text'] as const) {
      for (const [method, url, body] of [
        ['post', '/api/login/tickets', 'clientIp=1.2.3.4'],
        ['post', `/api/login/tickets/${ticket.ticketId}/redeem`, ''],
        ['post', '/api/accounts/authenticate', `loginName=${taxpayer.idNumber}&password=${taxpayer.password}`],
      ] as const) {
        const res = await api()[method](url).set(crossSite).type(type).send(body);
        assert.equal(res.status, 401, `${url} (${type})`);
        assert.equal(res.body.error.code, 'invalid_api_key');
      }
    }
    assert.equal(
      (await api().delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${bindingId}`).set(crossSite)).status,
      401,
    );
    assert.equal(await w.bindings().countBy({ id: bindingId }), 1);
    // A cross-site page cannot even read a poll: no CORS grant for its origin.
    const poll = await api().get(`/api/login/tickets/${ticket.ticketId}`).set(crossSite);
    assert.equal(poll.headers['access-control-allow-origin'], undefined);
    // /wechat acts only on WeChat's signature.
    const push = w.driver.sign(w.driver.event(openid, 'unsubscribe'));
    const unsigned = await api().post('/wechat').set(crossSite).type('text/plain').send(push.body);
    assert.equal(unsigned.status, 401);
    assert.equal((await w.bindings().findOneByOrFail({ id: bindingId })).subscribed, true);
  });

  it('V3.5.3: changes nothing through GET or HEAD: not a binding, a registration, an SMS, a captcha, a login, a confirm, a redeem or an unbind', async () => {
    const s = await scene();
    const get = (client: H5Client, url: string) => client.agent.get(url).then((r) => r);
    const head = (client: H5Client, url: string) => client.agent.head(url).then((r) => r);
    const q = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const form = w.newForm();
    const sentBefore = w.t.deps.smsOutbox!.forPhone(s.taxpayer.phone).length;
    const captcha = await s.binder.captcha('bind-sms');
    const before = await watch.redis();
    watch.takeWrites();
    for (const send of [get, head]) {
      await send(s.binder, `/h5/bind/confirm?${q({ _csrf: s.bindCsrf, phone: s.taxpayer.phone, smsCode: s.code })}`);
      await send(
        s.binder,
        `/h5/bind/login?${q({ _csrf: s.bindCsrf, loginName: s.taxpayer.idNumber, password: s.taxpayer.password, captcha: 'ABCD' })}`,
      );
      await send(s.binder, `/h5/bind/sms/send?${q({ _csrf: s.bindCsrf, captcha })}`);
      await send(
        s.registrant,
        `/h5/register?${q({ _csrf: s.registerCsrf, ...form, confirmPassword: form.password, smsCode: '123456' })}`,
      );
      await send(s.registrant, `/h5/register/sms?${q({ _csrf: s.registerCsrf, ...form, captcha: 'ABCD' })}`);
      await send(s.phone, `/h5/login/confirm?${q({ c: s.scanned.token, _csrf: s.scanned.csrf })}`);
      await send(s.phone, `/h5/login/cancel?${q({ c: s.scanned.token, _csrf: s.scanned.csrf })}`);
    }
    assert.deepEqual(watch.takeWrites(), [], 'MySQL untouched');
    // Sessions may slide (lastSeenAt); nothing else in Redis moved: not the SMS code, not the captcha, not the ticket.
    assertNoRedisChange(redisChange(before, await watch.redis(), [/^h5:session:/]), 'GET and HEAD');
    assert.equal(w.t.deps.smsOutbox!.forPhone(s.taxpayer.phone).length, sentBefore, 'no SMS sent');
    assert.equal((await w.poll(s.scanned.ticket.ticketId)).body.status, 'scanned');
    // The API's state changes are not routed for GET/HEAD at all.
    await w.t.deps.login.confirm(s.scanned.token, s.phone.openid, { ip: '127.0.0.1', userAgent: 'test' });
    for (const method of ['get', 'head'] as const) {
      const redeem = await w
        .api()
        [method](`/api/login/tickets/${s.scanned.ticket.ticketId}/redeem`)
        .set('Authorization', API_KEY);
      assert.ok([404, 405].includes(redeem.status), `${method} redeem: ${redeem.status}`);
    }
    assert.equal((await w.poll(s.scanned.ticket.ticketId)).body.status, 'confirmed', 'still redeemable');
    const binding = await w.bindings().findOneByOrFail({ openid: s.phone.openid });
    for (const method of ['get', 'head'] as const) {
      await w
        .api()
        [method](`/api/accounts/${binding.accountId}/wechat-bindings/${binding.id}`)
        .set('Authorization', API_KEY);
    }
    assert.equal(await w.bindings().countBy({ id: binding.id }), 1, 'not unbound');
    // And the things GET did not spend still work by POST.
    const bound = await s.binder.post('/h5/bind/confirm', {
      _csrf: s.bindCsrf,
      phone: s.taxpayer.phone,
      smsCode: s.code,
    });
    assert.equal(bound.headers.location, '/h5/bind/done', 'the SMS code was not spent by GET');
  });
});
