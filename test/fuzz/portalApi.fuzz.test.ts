import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TestAccount } from '../support/accountFixtures';
import { redisOf } from '../support/testApp';
import { API_KEY, env, World, type CreatedTicket } from '../security/support/world';
import { injector, type InjectRequest } from './support/inject';
import {
  assertNoRedisChange,
  FUZZ_RUNS,
  FUZZ_SEED,
  FUZZ_TIMEOUT_MS,
  HEAP_GROWTH_LIMIT_BYTES,
  heapAfterGc,
  redisChange,
  StateWatch,
} from './support/stateWatch';

/**
 * Fuzzing the portal API in process against the real app: `POST
 * /api/login/tickets` bodies, polls with random ids and queries (forged ids that share a live
 * ticket's slot tag, the ticket's other identifiers), redeem, `POST /api/accounts/authenticate`
 * bodies (also with a real account's identifiers), the binding list and 解绑 with random ids, other
 * methods; with the key, without it, or with a wrong one.
 *
 * Per case: never a 5xx; errors are `{"error":{"code","message"}}`; no answer carries a full ID
 * number, phone, openid, scene or confirm token. A refused request writes nothing to MySQL but
 * audit rows and changes nothing in Redis but, for a password tried, the failed-login count of
 * what was typed (`login-failures:*`). A created ticket (201)
 * adds its one `login:{tag}` key (and may fetch the shared access token, and moves the ticket
 * limits' counters). The live ticket is never
 * changed, nor is any binding. After the run: table checksums as at the start; heap stable.
 */
describe(`fuzz: the portal API (fast-check seed ${FUZZ_SEED}, ${FUZZ_RUNS} cases)`, function () {
  this.timeout(FUZZ_TIMEOUT_MS);
  const w = new World();
  let watch: StateWatch;
  let taxpayer: TestAccount;
  let openid: string;
  let bindingId: string;
  let ticket: CreatedTicket;
  let secrets: { sceneStr: string; confirmToken: string };
  before(async () => {
    await w.start();
    await w.reset();
    taxpayer = await w.quickAccount('林纳税');
    openid = w.sim.createUser('林纳税').openid;
    bindingId = await w.insertBinding(openid, taxpayer);
    ticket = await w.createTicket();
    const hash = await redisOf(w.t.deps).hGetAll(w.t.deps.keys.key('login', `{${ticket.ticketId.slice(0, 16)}}`));
    secrets = { sceneStr: hash.scene!, confirmToken: hash.ct! };
    watch = new StateWatch(w.t.deps);
    watch.start();
  });
  after(async () => {
    watch?.stop();
    await w.stop();
  });

  type Case = { kind: string; request: InjectRequest };

  /** The cases, built once the fixtures exist (they are the ids the fuzz aims at). */
  function arbitraries(): fc.Arbitrary<Case> {
    const anyText = fc.oneof(
      { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '',
          ' ',
          '..',
          '%00',
          '%2e%2e%2f',
          '__proto__',
          'constructor',
          'null',
          '0',
          '-1',
          '\u0000',
          'a'.repeat(600),
        ),
      },
    );
    const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
    const uuid = fc.uuid();
    const auth = fc.oneof(
      { weight: 10, arbitrary: fc.constant<string | undefined>(API_KEY) },
      { weight: 1, arbitrary: fc.constant<string | undefined>(undefined) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          `bearer ${env.PORTAL_API_KEYS}`,
          `Bearer  ${env.PORTAL_API_KEYS} `,
          `Bearer ${env.PORTAL_API_KEYS}x`,
          'Bearer',
          `Basic ${env.PORTAL_API_KEYS}`,
          env.PORTAL_API_KEYS!,
        ),
      },
      { weight: 1, arbitrary: anyText.map((t) => `Bearer ${t}`) },
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      '',
    );
    const jsonish = (good: fc.Arbitrary<Record<string, unknown>>) =>
      fc.oneof(
        { weight: 6, arbitrary: good.map((v) => JSON.stringify(v)) },
        { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
        { weight: 1, arbitrary: anyText },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '',
            '{',
            '{"__proto__":{"admin":true}}',
            '{"constructor":{"prototype":{"x":1}}}',
            '[]',
            'null',
            `{"a":"${'x'.repeat(17 * 1024)}"}`,
          ),
        },
      );
    const extras = fc.dictionary(
      fc.oneof(anyText, fc.constantFrom('accountId', 'openid', 'status', 'ticketId', '__proto__')),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 2 },
    );
    const ip = fc.oneof(fc.ipV4(), fc.ipV6(), anyText);
    const segment = (...known: string[]) =>
      fc.oneof(
        { weight: 3, arbitrary: anyText.map(encodeURIComponent) },
        { weight: 2, arbitrary: fc.constantFrom(...known) },
        { weight: 1, arbitrary: hex(48) },
        { weight: 1, arbitrary: uuid },
      );
    // Ids that share the live ticket's tag, and the ticket's own other identifiers, besides its id.
    const ticketIdArb = () =>
      fc.oneof(
        { weight: 4, arbitrary: segment(ticket.ticketId) },
        { weight: 2, arbitrary: hex(32).map((rest) => ticket.ticketId.slice(0, 16) + rest) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            secrets.confirmToken,
            secrets.sceneStr,
            ticket.ticketId.toUpperCase(),
            `${ticket.ticketId}0`,
            ticket.ticketId.slice(0, 47),
          ),
        },
      );

    const withAuth = (headers: Record<string, string>, key: string | undefined) =>
      key === undefined ? headers : { ...headers, authorization: key };

    const create = fc
      .tuple(
        auth,
        contentType,
        jsonish(
          fc
            .record(
              {
                clientIp: ip,
                userAgent: fc.oneof(anyText, fc.constant(''), fc.string({ minLength: 500, maxLength: 600 })),
              },
              { requiredKeys: [] },
            )
            .chain((body) => extras.map((extra) => ({ ...extra, ...body }))),
        ),
      )
      .map(([key, type, body]): Case => ({
        kind: 'create',
        request: {
          method: 'POST',
          url: '/api/login/tickets',
          headers: withAuth(type ? { 'content-type': type } : {}, key),
          body,
        },
      }));
    const poll = fc
      .tuple(
        ticketIdArb(),
        fc.option(fc.oneof(anyText, fc.constantFrom('0', '1', '30', '31', '-1', '1e1', '00', '5 ')), {
          nil: undefined,
        }),
        fc.option(
          fc.oneof(anyText, fc.constantFrom('pending', 'scanned', 'confirmed', 'expired', 'redeemed', 'PENDING')),
          { nil: undefined },
        ),
        fc.option(fc.oneof(fc.constantFrom('http://portal.test', 'http://evil.example', 'null'), anyText), {
          nil: undefined,
        }),
        fc.constantFrom('GET', 'OPTIONS', 'HEAD'),
      )
      .map(([id, wait, status, origin, method]): Case => {
        // A valid wait on the live ticket would hold the request (a real long-poll): polls of it do not wait.
        const holds =
          id === ticket.ticketId &&
          wait !== undefined &&
          /^\d{1,2}$/.test(wait) &&
          Number(wait) > 0 &&
          Number(wait) <= 30;
        const query = new URLSearchParams();
        if (wait !== undefined) query.set('wait', holds ? '0' : wait);
        if (status !== undefined) query.set('status', status);
        const qs = query.toString();
        return {
          kind: 'poll',
          request: {
            method,
            url: `/api/login/tickets/${id}${qs ? `?${qs}` : ''}`,
            headers: origin === undefined ? {} : { origin },
          },
        };
      });
    const redeem = fc.tuple(ticketIdArb(), auth, jsonish(extras)).map(([id, key, body]): Case => ({
      kind: 'redeem',
      request: {
        method: 'POST',
        url: `/api/login/tickets/${id}/redeem`,
        headers: withAuth({ 'content-type': 'application/json' }, key),
        body,
      },
    }));
    const identifier = () =>
      fc.oneof(
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            taxpayer.idNumber,
            taxpayer.idNumber.toLowerCase(),
            taxpayer.phone,
            ` ${taxpayer.phone} `,
          ),
        },
        { weight: 3, arbitrary: anyText },
      );
    // Shapes that reach the password check are rarer: each costs an argon2id verification.
    const authenticate = fc
      .tuple(
        auth,
        contentType,
        fc.oneof(
          {
            weight: 1,
            arbitrary: fc.record({ loginName: identifier(), password: anyText }).map((v) => JSON.stringify(v)),
          },
          {
            weight: 3,
            arbitrary: jsonish(
              fc
                .record(
                  {
                    loginName: fc.oneof(identifier(), fc.jsonValue()),
                    password: fc.oneof(fc.string({ minLength: 129, maxLength: 140 }), fc.constant(''), fc.jsonValue()),
                  },
                  { requiredKeys: [] },
                )
                .chain((body) => extras.map((extra) => ({ ...body, ...extra }))),
            ),
          },
        ),
      )
      .map(([key, type, body]): Case => ({
        kind: 'authenticate',
        request: {
          method: 'POST',
          url: '/api/accounts/authenticate',
          headers: withAuth(type ? { 'content-type': type } : {}, key),
          body,
        },
      }));
    const list = fc
      .tuple(segment(taxpayer.account.id), auth, fc.constantFrom('GET', 'HEAD', 'POST'))
      .map(([accountId, key, method]): Case => ({
        kind: 'list',
        request: { method, url: `/api/accounts/${accountId}/wechat-bindings`, headers: withAuth({}, key) },
      }));
    const unbind = fc
      .tuple(
        segment(taxpayer.account.id),
        segment(bindingId),
        auth,
        fc.constantFrom('DELETE', 'DELETE', 'DELETE', 'GET', 'POST', 'PUT'),
      )
      // The one right pair with the key is a real 解绑, not a refusal: it is tested elsewhere.
      .filter(
        ([accountId, id, key, method]) =>
          !(accountId === taxpayer.account.id && id === bindingId && key !== undefined && method === 'DELETE'),
      )
      .map(([accountId, id, key, method]): Case => ({
        kind: 'unbind',
        request: { method, url: `/api/accounts/${accountId}/wechat-bindings/${id}`, headers: withAuth({}, key) },
      }));
    const stray = fc
      .tuple(
        fc.constantFrom('PUT', 'PATCH', 'DELETE', 'GET', 'POST'),
        fc.constantFrom('/api/login/tickets', '/api/accounts/authenticate', '/api/accounts', '/api/login', '/api/'),
        auth,
      )
      .map(([method, url, key]): Case => ({ kind: 'stray', request: { method, url, headers: withAuth({}, key) } }));
    return fc.oneof(
      { weight: 4, arbitrary: create },
      { weight: 6, arbitrary: poll },
      { weight: 3, arbitrary: redeem },
      { weight: 1, arbitrary: authenticate },
      { weight: 2, arbitrary: list },
      { weight: 3, arbitrary: unbind },
      { weight: 1, arbitrary: stray },
    );
  }

  it('never answers 5xx, leaks nothing, and changes nothing it refuses; heap stable across the run', async () => {
    const inject = injector(w.t.app);
    const cases = arbitraries();
    const ticketKey = `login:{${ticket.ticketId.slice(0, 16)}}`;
    const tablesBefore = await watch.tables();
    const bindingsBefore = JSON.stringify(await w.bindings().find());
    const leaks = [
      taxpayer.idNumber,
      taxpayer.phone,
      openid,
      secrets.sceneStr,
      secrets.confirmToken,
      env.PORTAL_API_KEYS!,
    ];
    for (const sample of fc.sample(cases, { seed: FUZZ_SEED + 1, numRuns: 200 })) await inject(sample.request);
    // The ticket limits' counters so far: they would expire (by Redis's clock) in the middle of a case.
    await watch.deleteMatching('rate:?login-tickets:*');
    watch.takeWrites();
    const heapBefore = heapAfterGc();
    const statuses = new Map<string, number>();
    const ticketDigest = (await watch.redis()).get(ticketKey);

    await fc.assert(
      fc.asyncProperty(cases, async ({ kind, request }) => {
        const before = await watch.redis();
        watch.takeWrites();
        const res = await inject(request);
        const after = await watch.redis();
        const writes = watch.takeWrites();
        const label = `${kind} ${request.method} → ${res.status}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        assert.ok(res.status < 500, `${label}: ${res.text.slice(0, 300)}`);
        for (const secret of leaks)
          assert.ok(
            !res.text.includes(secret) && !JSON.stringify(res.headers).includes(secret),
            `${label}: the answer leaks ${secret.slice(0, 6)}…`,
          );
        if (res.status >= 400 && !['HEAD', 'OPTIONS'].includes(request.method)) {
          const body = JSON.parse(res.text) as { error?: { code?: unknown; message?: unknown } };
          assert.ok(
            typeof body.error?.code === 'string' && typeof body.error.message === 'string',
            `${label}: error shape ${res.text}`,
          );
        }
        assert.equal(after.get(ticketKey), ticketDigest, 'the live ticket never changes');
        for (const write of writes)
          assert.equal(write.table, 'audit_events', `${label}: unexpected write ${write.sql.slice(0, 200)}`);
        if (res.status === 201) {
          assert.equal(`${request.method} ${request.url}`, 'POST /api/login/tickets', label);
          // A new ticket may also create and lease a QR scene of the pool, and counts against the
          // portal's and the browser's ticket limits.
          const change = redisChange(before, after, [/^wechat:access-token/, /^qrpool:/, /^rate:\{login-tickets:/]);
          assert.deepEqual([change.removed, change.changed], [[], []], label);
          assert.equal(change.added.length, 1, `${label}: one new ticket`);
          assert.match(change.added[0]!, /^login:\{[0-9a-f]{16}\}$/);
          await watch.deleteMatching(change.added[0]!.replace(/[{}]/g, '?'));
          // The counters go too: they expire by Redis's clock, not the run's, and would vanish mid-case.
          await watch.deleteMatching('rate:?login-tickets:*');
          return;
        }
        // A tried password counts a failed login and, for its audit row, the per-client cap on refusal rows.
        const failedLogins = kind === 'authenticate' ? [/^login-failures:[0-9a-f]{32}$/, /^rate:\{audit:/] : [];
        assertNoRedisChange(redisChange(before, after, [/^wechat:access-token/, ...failedLogins]), label);
        if (res.status === 200 && kind === 'poll' && request.method === 'GET') {
          assert.deepEqual(
            Object.keys(JSON.parse(res.text) as object).sort(),
            ['expiresAt', 'status', 'ticketId'],
            'a poll says nothing else',
          );
        }
        // Besides creating tickets, only reads (polls, the binding list) succeed: no redeem, 解绑 or login.
        if (res.status < 300)
          assert.ok(['GET', 'HEAD', 'OPTIONS'].includes(request.method), `${label}: only reads succeed`);
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );

    assert.equal(await watch.tables(), tablesBefore, 'accounts and bindings are as they were');
    assert.equal(JSON.stringify(await w.bindings().find()), bindingsBefore);
    const growth = heapAfterGc() - heapBefore;
    assert.ok(
      growth < HEAP_GROWTH_LIMIT_BYTES,
      `heap grew ${(growth / 1048576).toFixed(1)} MiB over ${FUZZ_RUNS} cases`,
    );
    assert.equal(w.t.deps.ticketChanges.waiting, 0, 'no long-poll left waiting');
    const seen = JSON.stringify(Object.fromEntries(statuses));
    for (const expected of [
      'create POST → 201',
      'poll GET → 200',
      'poll GET → 404',
      'redeem POST → 409',
      'authenticate POST → 401',
      'authenticate POST → 429',
      'list GET → 200',
      'unbind DELETE → 404',
    ]) {
      assert.ok(statuses.has(expected), `reached ${expected}: ${seen}`);
    }
  });
});
