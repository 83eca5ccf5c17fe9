import assert from 'node:assert/strict';
import request from 'supertest';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { ManualClock } from '../../src/clock/Clock';
import { createLogger } from '../../src/logging/createLogger';
import { createTestAccount, uniqueIdNumber } from '../support/accountFixtures';
import { createTestApp, resetState, type TestApp } from '../support/testApp';
import { testEnvironment } from '../support/testEnv';

const PATH = '/api/accounts/authenticate';
const KEY = testEnvironment().PORTAL_API_KEYS!;

describe('accounts: POST /api/accounts/authenticate', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2025, 10, 30, 2, 0, 0));
  const logLines: string[] = [];

  before(async () => {
    t = await createTestApp({
      clock,
      logger: createLogger('info', {
        write: (line: string) => {
          logLines.push(line);
        },
      }),
    });
  });
  after(() => t?.close());
  beforeEach(async () => {
    await resetState(t.deps);
    clock.set(Date.UTC(2025, 10, 30, 2, 0, 0));
    logLines.length = 0;
  });

  const post = (body: unknown) =>
    request(t.app.callback())
      .post(PATH)
      .set('Authorization', `Bearer ${KEY}`)
      .send(body as object);

  it('answers 200 with the masked account for the right password', async () => {
    const idNumber = uniqueIdNumber({ endsWithX: true });
    const { account, password, phone } = await createTestAccount(t.deps, { realName: '张三', idNumber });
    for (const loginName of [idNumber, idNumber.toLowerCase(), phone]) {
      const res = await post({ loginName, password });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, {
        account: {
          id: account.id,
          loginName: `${idNumber.slice(0, 3)}***********${idNumber.slice(-4)}`,
          realName: '张三',
          idNumberMasked: `${idNumber.slice(0, 3)}***********${idNumber.slice(-4)}`,
          phoneMasked: `${phone.slice(0, 3)}****${phone.slice(-4)}`,
        },
      });
      for (const plain of [idNumber, idNumber.toLowerCase(), phone])
        assert.ok(!res.text.includes(plain), 'an unmasked number in the answer');
    }
  });

  it('audits a login with the browser the portal reports, and with the caller itself without a report', async () => {
    const { account, password, idNumber } = await createTestAccount(t.deps);
    const browserUa = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0';
    const fromPortal = (body: object) =>
      request(t.app.callback())
        .post(PATH)
        .set('Authorization', `Bearer ${KEY}`)
        .set('User-Agent', 'portal-server/2.0')
        .send(body);
    assert.equal(
      (await fromPortal({ loginName: idNumber, password, clientIp: '203.0.113.77', userAgent: browserUa })).status,
      200,
    );
    assert.equal(
      (await fromPortal({ loginName: idNumber, password: 'wrong-password', clientIp: '2001:db8::7' })).status,
      401,
    );
    assert.equal((await fromPortal({ loginName: idNumber, password })).status, 200);
    const rows = await t.deps.db
      .getRepository(AuditEventEntity)
      .find({ where: { accountId: account.id }, order: { id: 'ASC' } });
    assert.deepEqual(
      rows.map((r) => [r.type, r.ip, r.userAgent]),
      [
        ['authenticate_succeeded', '203.0.113.77', browserUa],
        ['authenticate_failed', '2001:db8::7', 'portal-server/2.0'],
        ['authenticate_succeeded', rows[2]!.ip, 'portal-server/2.0'],
      ],
    );
    assert.match(rows[2]!.ip ?? '', /127\.0\.0\.1/);
  });

  it('answers 401 invalid_credentials, identically, for a wrong password and an unknown account', async () => {
    const { idNumber } = await createTestAccount(t.deps);
    const wrongPassword = await post({ loginName: idNumber, password: 'wrong-password' });
    const unknownAccount = await post({ loginName: 'nobody', password: 'wrong-password' });
    for (const res of [wrongPassword, unknownAccount]) {
      assert.equal(res.status, 401);
      assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    }
    assert.deepEqual(wrongPassword.body, {
      error: { code: 'invalid_credentials', message: 'login name or password is incorrect' },
    });
    assert.deepEqual(unknownAccount.body, wrongPassword.body);
  });

  it('answers 429 too_many_attempts with Retry-After from the 6th try of a client that failed 5 times, never locking the account', async () => {
    const { password, idNumber } = await createTestAccount(t.deps);
    const from = (clientIp: string, body: object) => post({ ...body, clientIp });
    for (let i = 0; i < 5; i++)
      assert.equal((await from('203.0.113.5', { loginName: idNumber, password: 'wrong' })).status, 401);
    const waiting = await from('203.0.113.5', { loginName: idNumber, password });
    assert.equal(waiting.status, 429);
    assert.deepEqual(waiting.body, {
      error: {
        code: 'too_many_attempts',
        message: 'too many failed logins from this client for this login name: try again later',
      },
    });
    assert.equal(waiting.headers['retry-after'], '15');
    assert.equal((await from('198.51.100.5', { loginName: idNumber, password })).status, 200, 'another client');
    assert.equal(
      (await post({ loginName: idNumber, password })).status,
      200,
      'the portal itself, reporting no browser',
    );

    clock.advance(10_000);
    assert.equal((await from('203.0.113.5', { loginName: idNumber, password })).headers['retry-after'], '5');
    clock.advance(5_000);
    assert.equal((await from('203.0.113.5', { loginName: idNumber, password })).status, 200);
  });

  const badBodies: [string, unknown, RegExp][] = [
    ['a missing password', { loginName: 'zhangsan' }, /\/password is required/],
    ['a missing body', undefined, /\/loginName is required.*\/password is required/],
    ['an extra property', { loginName: 'zhangsan', password: 'x', remember: true }, /\/remember is not allowed/],
    ['wrong types', { loginName: 350102, password: ['x'] }, /\/loginName must be string.*\/password must be string/],
    ['an empty login name', { loginName: '', password: 'x' }, /\/loginName must NOT have fewer than 1 characters/],
    [
      'a login name over 64 characters',
      { loginName: 'a'.repeat(65), password: 'x' },
      /\/loginName must NOT have more than 64 characters/,
    ],
    [
      'a password over 128 characters',
      { loginName: 'zhangsan', password: 'p'.repeat(129) },
      /\/password must NOT have more than 128 characters/,
    ],
    ['an array', [{ loginName: 'zhangsan', password: 'x' }], /^invalid request body: \/ must be object/],
    [
      'a clientIp that is not an address',
      { loginName: 'zhangsan', password: 'x', clientIp: 'evil<script>' },
      /\/clientIp must match pattern/,
    ],
    [
      'a userAgent over 512 characters',
      { loginName: 'zhangsan', password: 'x', userAgent: 'u'.repeat(513) },
      /\/userAgent must NOT have more than 512 characters/,
    ],
  ];
  for (const [what, body, problem] of badBodies) {
    it(`answers 400 invalid_request for ${what}, naming the problem by JSON path`, async () => {
      const res = await post(body);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'invalid_request');
      assert.match(res.body.error.message, problem);
    });
  }

  it('answers 400 invalid_json for a body that is not JSON, whatever its Content-Type', async () => {
    for (const [type, body] of [
      ['application/json', '{"loginName":'],
      ['text/plain', 'loginName=x&password=y'],
      ['application/x-www-form-urlencoded', 'loginName=x&password=y'],
      ['application/json', '"a string"'],
    ]) {
      const res = await request(t.app.callback())
        .post(PATH)
        .set('Authorization', `Bearer ${KEY}`)
        .set('Content-Type', type!)
        .send(body);
      assert.equal(res.status, 400, `${type}: ${body}`);
      assert.equal(res.body.error.code, 'invalid_json');
    }
  });

  it('answers 413 payload_too_large for a body over 16 KiB', async () => {
    const res = await post({ loginName: 'zhangsan', password: 'x'.repeat(17 * 1024) });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'payload_too_large');
  });

  it('answers 401 invalid_api_key without the key or with a wrong one, before reading the body', async () => {
    const { password, idNumber } = await createTestAccount(t.deps);
    const missing = await request(t.app.callback()).post(PATH).send({ loginName: idNumber, password });
    const wrong = await request(t.app.callback())
      .post(PATH)
      .set('Authorization', `Bearer ${KEY}x`)
      .send({ loginName: idNumber, password });
    const notJson = await request(t.app.callback()).post(PATH).type('json').send('{');
    for (const res of [missing, wrong, notJson]) {
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'invalid_api_key');
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer\b/);
    }
  });

  it('keeps ID and phone numbers out of the database in the clear, and out of logs', async () => {
    const { account, idNumber, phone, password } = await createTestAccount(t.deps, { loginName: 'zhangsan' });
    assert.equal((await post({ loginName: idNumber, password })).status, 200);
    assert.equal((await post({ loginName: phone, password: 'wrong' })).status, 401);

    const [row] = await t.deps.db.query<Record<string, unknown>[]>('SELECT * FROM accounts WHERE id = ?', [account.id]);
    const rawRow = JSON.stringify(row);
    const rawAudit = JSON.stringify(await t.deps.db.query('SELECT * FROM audit_events'));
    for (const plain of [idNumber, phone]) {
      assert.ok(!rawRow.includes(plain), 'a plain number in the accounts row');
      assert.ok(!rawAudit.includes(plain), 'a plain number in the audit events');
      assert.ok(!logLines.join('').includes(plain), 'a plain number in the logs');
    }
    assert.match(String(row?.id_number), /^v1:/);
    assert.match(String(row?.phone), /^v1:/);
    assert.ok(
      logLines.some((line) => line.includes('"authenticate_succeeded"')),
      'the authentication was not logged',
    );
    assert.ok(!logLines.join('').includes(password));
  });
});
