import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { PushDriver } from '../../src/sandbox/PushDriver';
import { createTestAccount, uniqueIdNumber, type TestAccount } from '../support/accountFixtures';
import { H5Client } from '../support/H5Client';
import { useSimulatedWeChat } from '../support/simulatedWeChat';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';
import { withStub } from '../support/withStub';
import { assertServiceUnavailable } from '../reliability/support/assertions';
import { FaultRig } from '../reliability/support/faultRig';
import { waitUntil } from '../reliability/support/processes';
import { apiRoutesOf, OpenApiContract } from './support/openApiContract';

const env = testEnvironment();
const KEY = `Bearer ${env.PORTAL_API_KEYS}`;
const SCOPES = ['login', 'bindings', 'authenticate', 'password'] as const;
/** Per scope: a key holding only it, and a key holding every other scope. */
const scopedKeys = SCOPES.map((scope, i) => ({
  scope,
  only: `only-${scope}-secret-${String(i).repeat(24)}`,
  allBut: `allbut-${scope}-secret-${String(i).repeat(24)}`,
}));
const PORTAL_API_KEYS = [
  env.PORTAL_API_KEYS,
  ...scopedKeys.flatMap(({ scope, only, allBut }) => [
    `only-${scope}:${scope}:单项:${only}`,
    `allbut-${scope}:${SCOPES.filter((other) => other !== scope).join('+')}:其余:${allBut}`,
  ]),
].join(',');
const PORTAL_ORIGIN = 'http://portal.test';

describe('openapi/portal.yaml: real answers of the portal API match the document', () => {
  const contract = new OpenApiContract();
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 2, 0, 0));
  const wechat = useSimulatedWeChat(clock);
  const { sim } = wechat;
  const driver = new PushDriver({ token: env.WECHAT_TOKEN!, appId: env.WECHAT_APPID!, clock });
  let t: TestApp;
  let taxpayer: TestAccount;
  let openid: string;

  const api = () => request(t.app.callback());

  before(async () => {
    t = await createTestApp({
      clock,
      env: { ...wechat.env(), PORTAL_API_KEYS, LOGIN_TICKETS_PER_IP_PER_MINUTE: '30' },
    });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetState(t.deps);
    clock.advance(3600_000);
    taxpayer = await createTestAccount(t.deps, { realName: '林纳税' });
    openid = sim.createUser('林纳税').openid;
  });

  async function bind(who: string, account: TestAccount = taxpayer, nickname: string | null = '税友'): Promise<string> {
    const id = randomUUID();
    await t.deps.db.getRepository(WechatBindingEntity).insert({
      id,
      accountId: account.account.id,
      openid: who,
      unionid: null,
      nickname,
      subscribed: true,
      boundAt: new Date(clock.now()),
    });
    return id;
  }
  async function createTicket(): Promise<{ ticketId: string; qrContent: string }> {
    const res = await api()
      .post('/api/login/tickets')
      .set('Authorization', KEY)
      .send({ clientIp: '203.0.113.9', userAgent: 'Mozilla/5.0 (Windows NT 10.0)' });
    contract.check('createLoginTicket', res);
    return res.body as { ticketId: string; qrContent: string };
  }
  /** Scans the ticket's QR as `who`; returns the confirm link of the reply, if any. */
  async function scan(who: string, ticket: { qrContent: string }): Promise<string | undefined> {
    clock.advance(1000);
    const push = driver.sign(driver.event(who, 'SCAN', sim.qrByUrl(ticket.qrContent)!.sceneStr, { Ticket: 'T' }));
    const res = await api().post('/wechat').query(push.query).type('text/xml').send(push.body);
    assert.equal(res.status, 200);
    const content = (await driver.readReply(res.text))?.Content ?? '';
    return /href="[^"]*(\/h5\/login\/confirm\?c=[0-9a-f]{48})"/.exec(content)?.[1];
  }

  describe('the document', () => {
    it('is OpenAPI 3.1 with unique operationIds, bearer security, and every local $ref resolving', () => {
      const doc = contract.document as {
        openapi: string;
        components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      };
      assert.match(doc.openapi, /^3\.1\.\d+$/);
      assert.deepEqual(doc.components.securitySchemes.portalKey, {
        ...doc.components.securitySchemes.portalKey,
        type: 'http',
        scheme: 'bearer',
      });
      const refs: string[] = [];
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (typeof node === 'object' && node !== null) {
          for (const [key, value] of Object.entries(node)) {
            if (key === '$ref' && typeof value === 'string') refs.push(value);
            else walk(value);
          }
        }
      };
      walk(contract.document);
      assert.ok(refs.length > 20);
      for (const ref of refs) contract.resolve(ref);
      assert.ok(contract.operations().length >= 7);
    });

    it('is a strict oracle: an answer that strays from the document fails the check', () => {
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        ({
          status,
          body,
          text: body === undefined ? '' : JSON.stringify(body),
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'x-request-id': randomUUID(),
            'cache-control': 'no-store',
            ...headers,
          },
        }) as unknown as request.Response;
      const view = { ticketId: 'a'.repeat(48), status: 'pending', expiresAt: new Date(clock.now()).toISOString() };
      const probe = new OpenApiContract();
      probe.check('getLoginTicket', answer(200, view));
      for (const [what, res] of [
        ['an undocumented status', answer(418, { error: { code: 'teapot', message: 'x' } })],
        ['an unknown status value', answer(200, { ...view, status: 'done' })],
        ['an extra (personal) field', answer(200, { ...view, openid: 'o' })],
        ['a missing field', answer(200, { ticketId: view.ticketId, status: 'pending' })],
        ['a malformed date', answer(200, { ...view, expiresAt: 'tomorrow' })],
        ['an undocumented error code', answer(404, { error: { code: 'no_such_thing', message: 'x' } })],
        ['a missing required header', answer(200, view, { 'cache-control': 'max-age=60' })],
        ['a malformed request id', answer(200, view, { 'x-request-id': 'x' })],
        ['a body that is not JSON', answer(200, view, { 'content-type': 'text/html' })],
      ] as const) {
        assert.throws(() => probe.check('getLoginTicket', res), assert.AssertionError, what);
      }
      assert.throws(
        () => probe.check('deleteWechatBinding', answer(204, { unexpected: true })),
        assert.AssertionError,
        'a body where none is documented',
      );
      assert.deepEqual([...probe.exercisedAnswers()], ['getLoginTicket 200']);
    });

    it('documents every /api route the app serves, and nothing it does not serve', () => {
      const documented = contract
        .operations()
        .map((op) => `${op.method.toUpperCase()} ${op.path}`)
        .sort();
      assert.deepEqual(apiRoutesOf(t.app), documented);
    });

    it('says which operations need the portal key: all but the poll and its preflight', () => {
      const open = contract
        .operations()
        .filter((op) => {
          const security = (contract.at(['paths', op.path, op.method]) as { security?: unknown[] }).security;
          return Array.isArray(security) && security.length === 0;
        })
        .map((op) => op.operationId)
        .sort();
      assert.deepEqual(open, ['getLoginTicket', 'preflightLoginTicket']);
    });
  });

  describe('login tickets', () => {
    it('walks create → poll → scan → confirm → redeem, each answer as documented', async () => {
      const unbound = await createTicket();
      const empty = await api().post('/api/login/tickets').set('Authorization', KEY);
      contract.check('createLoginTicket', empty);
      assert.equal(empty.status, 201);

      const polled = await api().get(`/api/login/tickets/${unbound.ticketId}`).set('Origin', PORTAL_ORIGIN);
      contract.check('getLoginTicket', polled);
      assert.equal(polled.body.status, 'pending');
      assert.equal(polled.headers['access-control-allow-origin'], PORTAL_ORIGIN);

      // An unbound WeChat scans: needs_binding, seen through a long-poll from the known status.
      const held = api().get(`/api/login/tickets/${unbound.ticketId}?wait=5&status=pending`);
      const waiting = held.then((res) => res);
      await waitUntil('the long-poll to be held', () => t.deps.ticketChanges.waiting === 1);
      assert.equal(await scan(openid, unbound), undefined);
      const woken = await waiting;
      contract.check('getLoginTicket', woken);
      assert.equal(woken.body.status, 'needs_binding');

      await bind(openid);
      const ticket = await createTicket();
      const link = await scan(openid, ticket);
      assert.ok(link);
      const notYet = await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`).set('Authorization', KEY);
      contract.check('redeemLoginTicket', notYet);
      assert.equal(notYet.body.error.code, 'ticket_not_confirmed');

      const phone = new H5Client(t.app, wechat.url, openid);
      const page = await phone.open(link);
      assert.equal(page.status, 200);
      const confirmed = await phone.post('/h5/login/confirm', {
        _csrf: phone.csrfToken(page.text),
        c: link.slice(-48),
      });
      assert.equal(confirmed.status, 200);
      const status = await api().get(`/api/login/tickets/${ticket.ticketId}?wait=0`);
      contract.check('getLoginTicket', status);
      assert.equal(status.body.status, 'confirmed');

      const redeemed = await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`).set('Authorization', KEY);
      contract.check('redeemLoginTicket', redeemed);
      assert.equal(redeemed.status, 200);
      assert.equal(redeemed.body.account.id, taxpayer.account.id);
      const again = await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`).set('Authorization', KEY);
      contract.check('redeemLoginTicket', again);
      assert.equal(again.body.error.code, 'ticket_already_redeemed');

      clock.advance(600_000);
      const expired = await api().get(`/api/login/tickets/${unbound.ticketId}`);
      contract.check('getLoginTicket', expired);
      assert.equal(expired.body.status, 'expired');
    });

    it('answers refused creations as documented: 400, 401, 413, 415, 503', async () => {
      const cases: [string, request.Test][] = [
        [
          'invalid_request',
          api().post('/api/login/tickets').set('Authorization', KEY).send({ clientIp: '<script>', extra: 1 }),
        ],
        ['invalid_request', api().post('/api/login/tickets').set('Authorization', KEY).type('json').send('[]')],
        ['invalid_json', api().post('/api/login/tickets').set('Authorization', KEY).type('json').send('{"clientIp":')],
        ['invalid_api_key', api().post('/api/login/tickets').send({})],
        ['invalid_api_key', api().post('/api/login/tickets').set('Authorization', 'Bearer not-a-key').send({})],
        [
          'payload_too_large',
          api()
            .post('/api/login/tickets')
            .set('Authorization', KEY)
            .send({ userAgent: 'x'.repeat(17 * 1024) }),
        ],
        [
          'unsupported_media_type',
          api()
            .post('/api/login/tickets')
            .set('Authorization', KEY)
            .set('Content-Encoding', 'compress')
            .type('json')
            .send('{}'),
        ],
      ];
      for (const [code, call] of cases) {
        const res = await call;
        contract.check('createLoginTicket', res);
        assert.equal(res.body.error.code, code, res.text);
      }
      for (const [fault, code] of [
        [{ errcode: 45009, errmsg: 'reach max api daily quota limit' }, 'wechat_qrcode_quota'],
        [{ status: 502 }, 'wechat_unavailable'],
      ] as const) {
        sim.failNext('/cgi-bin/qrcode/create', fault);
        const res = await api().post('/api/login/tickets').set('Authorization', KEY).send({});
        contract.check('createLoginTicket', res);
        assert.equal(res.body.error.code, code);
      }
    });

    it('answers bad polls and redeems as documented: 400, 404, 401', async () => {
      const ticket = await createTicket();
      for (const query of ['?wait=31', '?wait=abc', '?wait=1&wait=2', '?status=done']) {
        const res = await api().get(`/api/login/tickets/${ticket.ticketId}${query}`);
        contract.check('getLoginTicket', res);
        assert.equal(res.body.error.code, 'invalid_request');
      }
      for (const id of ['0'.repeat(48), 'not-a-ticket']) {
        const res = await api().get(`/api/login/tickets/${id}`);
        contract.check('getLoginTicket', res);
        assert.equal(res.body.error.code, 'ticket_not_found');
        const redeem = await api().post(`/api/login/tickets/${id}/redeem`).set('Authorization', KEY);
        contract.check('redeemLoginTicket', redeem);
        assert.equal(redeem.body.error.code, 'ticket_not_found');
      }
      const unauthorised = await api().post(`/api/login/tickets/${ticket.ticketId}/redeem`);
      contract.check('redeemLoginTicket', unauthorised);
      assert.equal(unauthorised.body.error.code, 'invalid_api_key');
    });

    it('answers the CORS preflight with CORS headers for a portal origin only', async () => {
      const ticket = await createTicket();
      const allowed = await api()
        .options(`/api/login/tickets/${ticket.ticketId}`)
        .set('Origin', PORTAL_ORIGIN)
        .set('Access-Control-Request-Method', 'GET');
      contract.check('preflightLoginTicket', allowed);
      assert.equal(allowed.status, 204);
      const foreign = await api()
        .options(`/api/login/tickets/${ticket.ticketId}`)
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'GET');
      contract.check('preflightLoginTicket', foreign);
      assert.equal(foreign.status, 200);
      assert.equal(foreign.headers['access-control-allow-origin'], undefined);
      const poll = await api().get(`/api/login/tickets/${ticket.ticketId}`).set('Origin', 'https://evil.example');
      contract.check('getLoginTicket', poll);
      assert.equal(poll.headers['access-control-allow-origin'], undefined);
    });
  });

  describe('accounts', () => {
    const authenticate = (body: unknown, key = KEY) =>
      api()
        .post('/api/accounts/authenticate')
        .set('Authorization', key)
        .send(body as object);

    it('answers authentication as documented: 200, 401, 400, 413, 415, then 429 for a client that keeps failing', async () => {
      const ok = await authenticate({ loginName: taxpayer.idNumber, password: taxpayer.password });
      contract.check('authenticateAccount', ok);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.account.id, taxpayer.account.id);

      const cases: [string, request.Test][] = [
        ['invalid_api_key', api().post('/api/accounts/authenticate').send({ loginName: 'a', password: 'b' })],
        ['invalid_request', authenticate({ loginName: 'a' })],
        ['invalid_request', authenticate({ loginName: 'a', password: 'b', role: 'admin' })],
        [
          'invalid_json',
          api().post('/api/accounts/authenticate').set('Authorization', KEY).type('json').send('not json'),
        ],
        ['payload_too_large', authenticate({ loginName: 'a', password: 'p'.repeat(17 * 1024) })],
        [
          'unsupported_media_type',
          api()
            .post('/api/accounts/authenticate')
            .set('Authorization', KEY)
            .set('Content-Encoding', 'compress')
            .type('json')
            .send('{}'),
        ],
        [
          'invalid_credentials',
          authenticate({ loginName: `nobody-${randomUUID().slice(0, 8)}`, password: 'whatever' }),
        ],
      ];
      for (const [code, call] of cases) {
        const res = await call;
        contract.check('authenticateAccount', res);
        assert.equal(res.body.error.code, code, res.text);
      }

      let last: request.Response | undefined;
      for (let attempt = 0; attempt < 6; attempt++)
        last = await authenticate({ loginName: taxpayer.idNumber, password: 'wrong-password' });
      contract.check('authenticateAccount', last!);
      assert.equal(last!.status, 429);
      assert.equal(last!.body.error.code, 'too_many_attempts');
    });
  });

  describe('passwords', () => {
    const operations = (resetId: string) =>
      ({
        changeAccountPassword: {
          path: `/api/accounts/${taxpayer.account.id}/password`,
          body: { currentPassword: 'a', newPassword: 'b' },
        },
        startPasswordReset: { path: '/api/password-resets', body: { realName: '李四', idNumber: uniqueIdNumber() } },
        verifyPasswordReset: { path: `/api/password-resets/${resetId}/verify`, body: { smsCode: '123456' } },
        completePasswordReset: { path: `/api/password-resets/${resetId}/password`, body: { newPassword: 'b' } },
      }) as const;
    const send = (path: string, body: unknown) =>
      api()
        .post(path)
        .set('Authorization', KEY)
        .send(body as object);

    it('answers every password operation as documented: 401, 400, 413, 415', async () => {
      for (const [operationId, { path, body }] of Object.entries(operations('x'.repeat(43)))) {
        const cases: [string, request.Test][] = [
          ['invalid_api_key', api().post(path).send(body)],
          ['invalid_request', send(path, { ...body, role: 'admin' })],
          ['payload_too_large', send(path, { ...body, padding: 'p'.repeat(17 * 1024) })],
          [
            'unsupported_media_type',
            api().post(path).set('Authorization', KEY).set('Content-Encoding', 'compress').type('json').send('{}'),
          ],
        ];
        for (const [code, call] of cases) {
          const res = await call;
          contract.check(operationId, res);
          assert.equal(res.body.error.code, code, `${operationId}: ${res.text}`);
        }
      }
    });

    it('walks 修改密码 and 忘记密码 as documented: 204, 202, 401, 422, 400, 404, 409, 429', async () => {
      const change = (currentPassword: string, newPassword: string) =>
        send(`/api/accounts/${taxpayer.account.id}/password`, { currentPassword, newPassword });
      const weak = await change(taxpayer.password, 'short');
      contract.check('changeAccountPassword', weak);
      assert.equal(weak.status, 422);
      const changed = await change(taxpayer.password, 'Gai-mima-2026');
      contract.check('changeAccountPassword', changed);
      assert.equal(changed.status, 204);
      let wrong: request.Response | undefined;
      for (let attempt = 0; attempt < 6; attempt++) {
        wrong = await change('Wrong-pass-1', 'Gai-mima-2027');
        if (attempt === 0) {
          contract.check('changeAccountPassword', wrong);
          assert.equal(wrong.status, 401);
        }
      }
      contract.check('changeAccountPassword', wrong!);
      assert.equal(wrong!.status, 429);

      const start = (idNumber: string) => send('/api/password-resets', { realName: '林纳税', idNumber });
      const started = await start(taxpayer.idNumber);
      contract.check('startPasswordReset', started);
      assert.equal(started.status, 202);
      const { resetId } = started.body as { resetId: string };
      const early = await send(`/api/password-resets/${resetId}/password`, { newPassword: 'Xin-mima-2026' });
      contract.check('completePasswordReset', early);
      assert.equal(early.status, 409);
      const wrongCode = await send(`/api/password-resets/${resetId}/verify`, { smsCode: '000000' });
      contract.check('verifyPasswordReset', wrongCode);
      assert.equal(wrongCode.status, 400);
      await t.deps.passwords.idle();
      const code = t.deps.smsOutbox!.forPhone(taxpayer.phone).at(-1)!.code;
      const verified = await send(`/api/password-resets/${resetId}/verify`, { smsCode: code });
      contract.check('verifyPasswordReset', verified);
      assert.equal(verified.status, 204);
      const weakReset = await send(`/api/password-resets/${resetId}/password`, { newPassword: 'short' });
      contract.check('completePasswordReset', weakReset);
      assert.equal(weakReset.status, 422);
      const done = await send(`/api/password-resets/${resetId}/password`, { newPassword: 'Xin-mima-2026' });
      contract.check('completePasswordReset', done);
      assert.equal(done.status, 204);
      for (const operationId of ['verifyPasswordReset', 'completePasswordReset'] as const) {
        const { path, body } = operations(resetId)[operationId];
        const gone = await send(path, body);
        contract.check(operationId, gone);
        assert.equal(gone.body.error.code, 'reset_not_found');
      }
      const malformed = await send('/api/password-resets', { realName: '林纳税', idNumber: '123' });
      contract.check('startPasswordReset', malformed);
      assert.equal(malformed.body.error.code, 'invalid_identity');
      let limited: request.Response | undefined;
      for (let attempt = 0; attempt < 5; attempt++) limited = await start(taxpayer.idNumber);
      contract.check('startPasswordReset', limited!);
      assert.equal(limited!.status, 429);
    });
  });

  describe('WeChat bindings', () => {
    it('answers listing and unbinding as documented: 200, 204, 404, 401', async () => {
      const first = await bind(openid);
      await bind(sim.createUser('无昵称').openid, taxpayer, null);
      const other = await createTestAccount(t.deps);

      const list = await api().get(`/api/accounts/${taxpayer.account.id}/wechat-bindings`).set('Authorization', KEY);
      contract.check('listWechatBindings', list);
      assert.equal(list.body.bindings.length, 2);
      const none = await api().get(`/api/accounts/${other.account.id}/wechat-bindings`).set('Authorization', KEY);
      contract.check('listWechatBindings', none);
      assert.deepEqual(none.body, { bindings: [] });
      for (const accountId of [randomUUID(), 'x']) {
        const res = await api().get(`/api/accounts/${accountId}/wechat-bindings`).set('Authorization', KEY);
        contract.check('listWechatBindings', res);
        assert.equal(res.body.error.code, 'account_not_found');
      }
      const noKey = await api().get(`/api/accounts/${taxpayer.account.id}/wechat-bindings`);
      contract.check('listWechatBindings', noKey);
      assert.equal(noKey.status, 401);

      const foreign = await api()
        .delete(`/api/accounts/${other.account.id}/wechat-bindings/${first}`)
        .set('Authorization', KEY);
      contract.check('deleteWechatBinding', foreign);
      assert.equal(foreign.body.error.code, 'binding_not_found');
      const noAccount = await api()
        .delete(`/api/accounts/${randomUUID()}/wechat-bindings/${first}`)
        .set('Authorization', KEY);
      contract.check('deleteWechatBinding', noAccount);
      assert.equal(noAccount.body.error.code, 'account_not_found');
      const unauthorised = await api()
        .delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${first}`)
        .set('Authorization', 'Bearer wrong');
      contract.check('deleteWechatBinding', unauthorised);
      assert.equal(unauthorised.status, 401);
      const removed = await api()
        .delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${first}`)
        .set('Authorization', KEY);
      contract.check('deleteWechatBinding', removed);
      assert.equal(removed.status, 204);
    });
  });

  describe('scopes', () => {
    const calls: Record<string, (key: string) => request.Test> = {
      createLoginTicket: (key) => api().post('/api/login/tickets').set('Authorization', key).send({}),
      redeemLoginTicket: (key) =>
        api()
          .post(`/api/login/tickets/${'a'.repeat(48)}/redeem`)
          .set('Authorization', key),
      authenticateAccount: (key) =>
        api().post('/api/accounts/authenticate').set('Authorization', key).send({ loginName: 'x', password: 'y' }),
      listWechatBindings: (key) => api().get(`/api/accounts/${randomUUID()}/wechat-bindings`).set('Authorization', key),
      deleteWechatBinding: (key) =>
        api().delete(`/api/accounts/${randomUUID()}/wechat-bindings/${randomUUID()}`).set('Authorization', key),
    };

    it('answers 403 insufficient_scope to a key without the scope the document names, and lets a key with only that scope through', async () => {
      const keyed = contract.operations().filter((op) => op.operationId in calls);
      assert.deepEqual(keyed.map((op) => op.operationId).sort(), Object.keys(calls).sort(), 'every keyed operation');
      for (const op of keyed) {
        const security = (contract.at(['paths', op.path, op.method]) as { security: { portalKey: string[] }[] })
          .security;
        assert.equal(security.length, 1, op.operationId);
        const [scope] = security[0]!.portalKey;
        const keys = scopedKeys.find((k) => k.scope === scope);
        assert.ok(keys && security[0]!.portalKey.length === 1, `${op.operationId} names one known scope`);
        const refused = await calls[op.operationId]!(`Bearer ${keys.allBut}`);
        contract.check(op.operationId, refused);
        assert.equal(refused.status, 403, op.operationId);
        assert.equal(refused.body.error.code, 'insufficient_scope');
        assert.equal(
          refused.headers['www-authenticate'],
          `Bearer realm="etax-wechat", error="insufficient_scope", scope="${scope}"`,
        );
        const passed = await calls[op.operationId]!(`Bearer ${keys.only}`);
        contract.check(op.operationId, passed);
        assert.ok(
          passed.status !== 403 && passed.body.error?.code !== 'invalid_api_key',
          `${op.operationId} with only ${scope}: ${passed.status}`,
        );
      }
    });

    it('answers 429 too_many_requests with Retry-After once a browser IP has had its tickets for the minute', async () => {
      const create = () =>
        api().post('/api/login/tickets').set('Authorization', KEY).send({ clientIp: '198.51.100.23' });
      for (let i = 0; i < 30; i++) assert.equal((await create()).status, 201);
      const refused = await create();
      contract.check('createLoginTicket', refused);
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, 'too_many_requests');
      assert.ok(Number(refused.headers['retry-after']) > 0);
    });
  });

  describe('faults behind every operation', () => {
    // Each operation, the dependency it needs first and the service method it calls first.
    const cases: {
      operationId: string;
      needs: 'mysql' | 'redis';
      call: (api: () => ReturnType<typeof request>) => request.Test;
      stub: () => [object, string];
    }[] = [
      {
        operationId: 'createLoginTicket',
        needs: 'redis',
        call: (api) => api().post('/api/login/tickets').set('Authorization', KEY).send({}),
        stub: () => [t.deps.login, 'createTicket'],
      },
      {
        operationId: 'getLoginTicket',
        needs: 'redis',
        call: (api) => api().get(`/api/login/tickets/${'a'.repeat(48)}`),
        stub: () => [t.deps.login, 'view'],
      },
      {
        operationId: 'redeemLoginTicket',
        needs: 'redis',
        call: (api) =>
          api()
            .post(`/api/login/tickets/${'a'.repeat(48)}/redeem`)
            .set('Authorization', KEY),
        stub: () => [t.deps.login, 'redeem'],
      },
      {
        operationId: 'authenticateAccount',
        needs: 'mysql',
        call: (api) =>
          api().post('/api/accounts/authenticate').set('Authorization', KEY).send({ loginName: 'a', password: 'b' }),
        stub: () => [t.deps.accounts, 'authenticate'],
      },
      {
        operationId: 'listWechatBindings',
        needs: 'mysql',
        call: (api) => api().get(`/api/accounts/${randomUUID()}/wechat-bindings`).set('Authorization', KEY),
        stub: () => [t.deps.accounts, 'findById'],
      },
      {
        operationId: 'deleteWechatBinding',
        needs: 'mysql',
        call: (api) =>
          api().delete(`/api/accounts/${randomUUID()}/wechat-bindings/${randomUUID()}`).set('Authorization', KEY),
        stub: () => [t.deps.accounts, 'findById'],
      },
      {
        operationId: 'changeAccountPassword',
        needs: 'mysql',
        call: (api) =>
          api()
            .post(`/api/accounts/${randomUUID()}/password`)
            .set('Authorization', KEY)
            .send({ currentPassword: 'a', newPassword: 'b' }),
        stub: () => [t.deps.passwords, 'changePassword'],
      },
      {
        operationId: 'startPasswordReset',
        needs: 'redis',
        call: (api) =>
          api()
            .post('/api/password-resets')
            .set('Authorization', KEY)
            .send({ realName: '李四', idNumber: uniqueIdNumber() }),
        stub: () => [t.deps.passwords, 'startReset'],
      },
      {
        operationId: 'verifyPasswordReset',
        needs: 'redis',
        call: (api) =>
          api()
            .post(`/api/password-resets/${'a'.repeat(43)}/verify`)
            .set('Authorization', KEY)
            .send({ smsCode: '123456' }),
        stub: () => [t.deps.passwords, 'verifyCode'],
      },
      {
        operationId: 'completePasswordReset',
        needs: 'redis',
        call: (api) =>
          api()
            .post(`/api/password-resets/${'a'.repeat(43)}/password`)
            .set('Authorization', KEY)
            .send({ newPassword: 'b' }),
        stub: () => [t.deps.passwords, 'completeReset'],
      },
    ];

    describe('a real outage: MySQL behind a relay that is cut, a private redis-server that is stopped', () => {
      let rig: FaultRig;
      before(async () => {
        rig = await FaultRig.start();
      });
      after(async () => {
        await rig?.dispose();
      });

      for (const { operationId, needs, call } of cases) {
        it(`${operationId}: 503 service_unavailable while ${needs === 'mysql' ? 'MySQL' : 'Redis'} is down`, async () => {
          const api = () => rig.api();
          if (needs === 'mysql') await rig.mysql.cut();
          else await rig.redis.stop();
          try {
            const res = await call(api);
            contract.check(operationId, res);
            assertServiceUnavailable(res);
            assert.doesNotMatch(res.text, /ECONNREFUSED|redis|mysql/i);
          } finally {
            if (needs === 'mysql') await rig.mysql.restore();
            else await rig.redis.restart();
            await waitUntil('/readyz to answer 200 again', async () => (await rig.api().get('/readyz')).status === 200);
          }
        });
      }
    });

    for (const { operationId, call, stub } of cases) {
      it(`${operationId}: 500 internal_error on a bug (the service method made to throw)`, async () => {
        const [object, method] = stub();
        await withStub(
          object,
          method as never,
          () => Promise.reject(new Error('an unexpected fault')),
          async () => {
            const res = await call(api);
            contract.check(operationId, res);
            assert.equal(res.status, 500);
            assert.equal(res.body.error.code, 'internal_error');
            assert.doesNotMatch(res.text, /unexpected fault/);
          },
        );
      });
    }
  });

  // A suite of its own, defined last: mocha runs it after every suite above has recorded its answers.
  describe('coverage', () => {
    it('has exercised every documented answer of every operation', () => {
      const missing = contract.documentedAnswers().filter((answer) => !contract.exercisedAnswers().has(answer));
      assert.deepEqual(missing, []);
    });
  });
});
