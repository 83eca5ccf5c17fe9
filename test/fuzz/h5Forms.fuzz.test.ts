import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gb11643CheckCharacter, type TestAccount } from '../support/accountFixtures';
import type { H5Client } from '../support/H5Client';
import { env, World, type CreatedTicket } from '../security/support/world';
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

const FORMS = {
  '/h5/bind/login': ['loginName', 'password', 'captcha'],
  '/h5/bind/sms': ['phone', 'smsCode'],
  '/h5/bind/sms/send': ['captcha'],
  '/h5/bind/confirm': ['phone', 'smsCode'],
  '/h5/register': ['realName', 'idNumber', 'phone', 'captcha', 'smsCode', 'password', 'confirmPassword'],
  '/h5/register/sms': ['realName', 'idNumber', 'phone', 'captcha', 'smsCode', 'password', 'confirmPassword'],
  '/h5/login/confirm': ['c'],
  '/h5/login/cancel': ['c'],
  '/h5/password/forgot': ['realName', 'idNumber', 'captcha'],
  '/h5/password/forgot/code': ['smsCode'],
  '/h5/password/forgot/password': ['password', 'confirmPassword'],
} as const;
type FormPath = keyof typeof FORMS;
const CAPTCHA_OF: Partial<Record<FormPath, string>> = {
  '/h5/bind/login': 'bind-login',
  '/h5/bind/sms/send': 'bind-sms',
  '/h5/register': 'register',
  '/h5/register/sms': 'register',
  '/h5/password/forgot': 'password-forgot',
};

/**
 * Fuzzing every H5 form in process against the real app, each POSTed by a
 * WeChat user with a valid session and its CSRF token (mostly; sometimes none, another session's,
 * or from another Origin), with random fields: random text, plausible values (the account's own
 * login name and phone, valid ID numbers and mobile numbers, 6-digit codes, forged confirm tokens
 * sharing the live ticket's tag), repeated and nested keys, other content types, oversized bodies,
 * and now and then the right image captcha so the password and SMS paths are reached too. Three
 * sessions: one past 实名绑定's 登录 step with a live SMS code, one fresh, and the owner of a scanned
 * login ticket on its confirm page. No case carries a valid SMS code or the ticket's confirm
 * token, so none may bind, register, confirm, cancel or reset a password.
 *
 * Per case: never a 5xx; MySQL gets nothing but audit rows; Redis changes only in what a form
 * attempt legitimately touches: the session (`h5:session:*`), captchas (`captcha:*`, spent by each
 * try), rate-limit counters (`rate:*`), failed-login counts (`login-failures:*`, when a password was
 * tried with a right captcha) and SMS codes (`sms:*`: a wrong code counts a try, the fifth
 * voids it; a right captcha may send one). The live ticket never changes. No page shows the
 * account's full ID number or phone unless the case typed it. The attempt counters of the
 * FormAttemptLimiter are cleared before each case, so the fuzz reaches the code behind them (the
 * limiter itself is tested in test/security/authentication.test.ts, V6.3.1).
 */
describe(`fuzz: every H5 form (fast-check seed ${FUZZ_SEED}, ${FUZZ_RUNS} cases)`, function () {
  this.timeout(FUZZ_TIMEOUT_MS);
  const w = new World();
  let watch: StateWatch;
  let taxpayer: TestAccount;
  let owner: TestAccount;
  let ticket: CreatedTicket;
  let confirmToken: string;
  type Session = { name: string; cookie: string; csrf: string; client: H5Client };
  const sessions: Session[] = [];
  const cookieOf = (client: H5Client) => client.sessionCookie()!;

  before(async () => {
    await w.start();
    await w.reset();
    taxpayer = await w.quickAccount('林纳税');
    owner = await w.quickAccount('王纳税');
    // Past 登录, with a live SMS code for the account's phone.
    const stepTwo = w.newUser('第二步');
    const login = await w.bindLogin(stepTwo, taxpayer.idNumber, taxpayer.password);
    assert.equal(login.status, 302);
    assert.equal((await w.requestBindSms(stepTwo, taxpayer.phone)).status, 302);
    sessions.push({
      name: 'step-two',
      client: stepTwo,
      cookie: cookieOf(stepTwo),
      csrf: stepTwo.csrfToken((await stepTwo.open('/h5/bind')).text),
    });
    const fresh = w.newUser('新用户');
    sessions.push({
      name: 'fresh',
      client: fresh,
      cookie: '',
      csrf: fresh.csrfToken((await fresh.open('/h5/bind')).text),
    });
    sessions[1]!.cookie = cookieOf(fresh);
    const phone = w.newUser('王纳税');
    const scanned = await w.scannedTicket(phone, owner);
    ticket = scanned.ticket;
    confirmToken = scanned.token;
    sessions.push({ name: 'ticket-owner', client: phone, cookie: cookieOf(phone), csrf: scanned.csrf });
    watch = new StateWatch(w.t.deps);
    watch.start();
  });
  after(async () => {
    watch?.stop();
    await w.stop();
  });

  type Case = {
    path: FormPath;
    session: number;
    csrf: 'own' | 'none' | 'other' | 'garbage';
    origin: string | undefined;
    contentType: string;
    pairs: [string, string][];
    rightCaptcha: boolean;
    oversized: boolean;
  };

  function arbitraries(): fc.Arbitrary<Case> {
    const anyText = fc.oneof(
      { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '',
          ' ',
          '<script>alert(1)</script>',
          '"><img src=x>',
          '{{ 7*7 }}',
          '${7*7}',
          "' OR 1=1 --",
          '\u0000',
          '__proto__',
          'a'.repeat(200),
        ),
      },
    );
    const digits = (n: number) => fc.stringMatching(new RegExp(`^\\d{${n}}$`));
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    const validIdNumber = fc
      .tuple(
        fc.constantFrom('350102', '110101', '440305', '650102'),
        fc.date({ min: new Date(Date.UTC(1930, 0, 1)), max: new Date(Date.UTC(2008, 0, 1)), noInvalidDate: true }),
        digits(3),
        fc.boolean(),
      )
      .map(([region, birth, seq, lower]) => {
        const first17 = `${region}${birth.toISOString().slice(0, 10).replaceAll('-', '')}${seq}`;
        const id = first17 + gb11643CheckCharacter(first17);
        return lower ? id.toLowerCase() : id;
      });
    const mobile = fc.tuple(fc.constantFrom('13', '15', '17', '18', '19'), digits(9)).map(([a, b]) => a + b);
    const chineseName = fc
      .array(fc.constantFrom('林', '小', '税', '王', '欧', '阳', '阿', '依', '·', '•', 'A', ' '), {
        minLength: 1,
        maxLength: 8,
      })
      .map((c) => c.join(''));
    const byField: Record<string, fc.Arbitrary<string>> = {
      loginName: fc.oneof(
        anyText,
        fc.constantFrom(taxpayer.idNumber, taxpayer.phone, taxpayer.idNumber.toLowerCase()),
        validIdNumber,
        mobile,
      ),
      password: fc.oneof(anyText, fc.constantFrom('Fj-tax-2025', 'password', 'a'.repeat(129))),
      captcha: fc.oneof(anyText, fc.stringMatching(/^[2-9A-Z]{4}$/)),
      phone: fc.oneof(
        anyText,
        fc.constant(taxpayer.phone),
        mobile,
        mobile.map((m) => `+86 ${m}`),
      ),
      smsCode: fc.oneof(anyText, digits(6)),
      realName: fc.oneof(anyText, chineseName),
      idNumber: fc.oneof(anyText, validIdNumber, fc.constant(taxpayer.idNumber)),
      confirmPassword: fc.oneof(anyText, fc.constant('Fj-tax-2025!x')),
      // Never the real confirm token: confirming or cancelling with it is not a refusal.
      c: fc
        .oneof(
          anyText,
          hex(48),
          hex(32).map((rest) => confirmToken.slice(0, 16) + rest),
          fc.constantFrom(ticket.ticketId, confirmToken.toUpperCase(), `${confirmToken} `),
        )
        .filter((c) => c.trim() !== confirmToken),
    };
    const junkKey = fc.oneof(
      anyText,
      fc.constantFrom(
        '__proto__',
        '__proto__[polluted]',
        'constructor[prototype][x]',
        'a[b][c]',
        'loginName[]',
        'toString',
        'hasOwnProperty',
      ),
    );
    return fc.constantFrom(...(Object.keys(FORMS) as FormPath[])).chain((path) =>
      fc.record({
        path: fc.constant(path),
        session: fc.nat({ max: sessions.length - 1 }),
        // Mostly a request the page itself would send, so the fuzz gets past the CSRF check.
        csrf: fc.oneof(
          { weight: 17, arbitrary: fc.constant('own' as const) },
          { weight: 1, arbitrary: fc.constantFrom('none' as const, 'other' as const, 'garbage' as const) },
        ),
        origin: fc.option(
          fc.oneof(
            { weight: 6, arbitrary: fc.constant(new URL(env.PUBLIC_URL!).origin) },
            { weight: 1, arbitrary: fc.constantFrom('https://evil.example', 'null') },
          ),
          { nil: undefined, freq: 2 },
        ),
        contentType: fc.oneof(
          {
            weight: 12,
            arbitrary: fc.constantFrom(
              'application/x-www-form-urlencoded',
              'application/x-www-form-urlencoded; charset=utf-8',
            ),
          },
          {
            weight: 1,
            arbitrary: fc.constantFrom('text/plain', 'application/json', 'multipart/form-data; boundary=x'),
          },
        ),
        pairs: fc
          .tuple(
            fc.tuple(
              ...FORMS[path].map((name) =>
                fc.option(
                  byField[name]!.map((v): [string, string] => [name, v]),
                  { nil: null, freq: 8 },
                ),
              ),
            ),
            fc.array(fc.tuple(fc.oneof(junkKey, fc.constantFrom<string>(...FORMS[path])), anyText), { maxLength: 3 }),
          )
          .map(([known, extra]): [string, string][] => [
            ...known.filter((p): p is [string, string] => p !== null),
            ...extra,
          ]),
        rightCaptcha: CAPTCHA_OF[path] ? fc.constantFrom(true, false, false, false) : fc.constant(false),
        oversized: fc.oneof({ weight: 40, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
    );
  }

  it('never answers 5xx, binds, registers, confirms or cancels nothing, and changes only what an attempt may; heap stable', async () => {
    const inject = injector(w.t.app);
    const cases = arbitraries();
    const ticketKey = `login:{${ticket.ticketId.slice(0, 16)}}`;
    // OAuth callback claims (h5:oauth-code:*) live 5 minutes and may expire during a slow run.
    const allowed = [
      /^h5:session:/,
      /^captcha:/,
      /^rate:/,
      /^login-failures:/,
      /^sms:/,
      /^h5:oauth-code:/,
      /^password-reset:/,
    ];
    const secrets = [taxpayer.idNumber, taxpayer.phone, owner.idNumber, owner.phone, confirmToken];
    const tablesBefore = await watch.tables();

    const run = async (c: Case) => {
      const session = sessions[c.session]!;
      const headers: Record<string, string> = {
        cookie: session.cookie,
        'content-type': c.contentType,
        'user-agent': 'Mozilla/5.0 MicroMessenger/8.0.50',
      };
      if (c.origin !== undefined) headers.origin = c.origin;
      const purpose = CAPTCHA_OF[c.path];
      const pairs = c.rightCaptcha && purpose ? c.pairs.filter(([k]) => k !== 'captcha') : [...c.pairs];
      if (c.rightCaptcha && purpose) {
        const image = await inject({
          method: 'GET',
          url: `/h5/captcha?for=${purpose}`,
          headers: { cookie: session.cookie },
        });
        pairs.push(['captcha', image.headers['x-sandbox-captcha'] as string]);
      }
      const csrf = {
        own: session.csrf,
        none: undefined,
        other: sessions[(c.session + 1) % sessions.length]!.csrf,
        garbage: `${session.csrf.slice(0, -1)}A`,
      }[c.csrf];
      if (csrf !== undefined) pairs.unshift(['_csrf', csrf]);
      let body = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      if (c.oversized) body += `&pad=${'x'.repeat(17 * 1024)}`;
      const request: InjectRequest = { method: 'POST', url: c.path, headers, body };
      return { request, res: await inject(request) };
    };

    for (const sample of fc.sample(cases, { seed: FUZZ_SEED + 1, numRuns: 200 })) await run(sample);
    watch.takeWrites();
    const heapBefore = heapAfterGc();
    const statuses = new Map<string, number>();
    const ticketDigest = (await watch.redis()).get(ticketKey);
    assert.ok(ticketDigest);

    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        await watch.deleteMatching('rate:{attempts:*');
        const before = await watch.redis();
        watch.takeWrites();
        const { request, res } = await run(c);
        const after = await watch.redis();
        const writes = watch.takeWrites();
        const label = `${c.path} → ${res.status}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);
        assert.ok(res.status < 500, `${label}: ${res.text.slice(0, 300)}`);
        assert.ok(
          [200, 302, 400, 401, 403, 404, 409, 410, 413, 422, 429].includes(res.status),
          `${label}: unexpected status`,
        );
        for (const write of writes)
          assert.equal(write.table, 'audit_events', `${label}: unexpected write ${write.sql.slice(0, 200)}`);
        assertNoRedisChange(redisChange(before, after, allowed), label);
        assert.equal(after.get(ticketKey), ticketDigest, 'the live ticket never changes');
        // The step-two session typed the account's phone itself (step 2 shows it back in its field).
        const typedBefore = sessions[c.session]!.name === 'step-two' ? [taxpayer.phone] : [];
        for (const secret of secrets.filter((x) => !typedBefore.includes(x))) {
          if (!request.body!.toString().includes(encodeURIComponent(secret)))
            assert.ok(!res.text.includes(secret), `${label}: the page shows ${secret.slice(0, 4)}…`);
        }
        if (res.status === 302)
          assert.ok(
            /^\/h5\/[a-z/]*(\?sent=1)?$/.test(res.headers.location as string),
            `${label}: redirects only within /h5 (${String(res.headers.location)})`,
          );
      }),
      { seed: FUZZ_SEED, numRuns: FUZZ_RUNS, endOnFailure: true },
    );

    assert.equal(await watch.tables(), tablesBefore, 'no account or binding created, changed or removed');
    assert.equal(await w.bindings().countBy({ accountId: taxpayer.account.id }), 0);
    const growth = heapAfterGc() - heapBefore;
    assert.ok(
      growth < HEAP_GROWTH_LIMIT_BYTES,
      `heap grew ${(growth / 1048576).toFixed(1)} MiB over ${FUZZ_RUNS} cases`,
    );
    const seen = JSON.stringify(Object.fromEntries(statuses));
    for (const path of Object.keys(FORMS))
      assert.ok(
        [...statuses.keys()].some((label) => label.startsWith(`${path} → `)),
        `${path} was fuzzed: ${seen}`,
      );
    for (const reached of [
      '/h5/bind/login → 401',
      '/h5/bind/confirm → 400',
      '/h5/register → 400',
      '/h5/register/sms → 400',
      '/h5/bind/login → 403',
      '/h5/login/confirm → 404',
    ]) {
      assert.ok(statuses.has(reached), `reached ${reached}: ${seen}`);
    }
  });
});
