import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { BindingService } from '../../src/binding/BindingService';
import { ManualClock } from '../../src/clock/Clock';
import { FormatOnlyIdentityVerifier } from '../../src/registration/IdentityVerifier';
import { RegistrationService } from '../../src/registration/RegistrationService';
import { createTestAccount, uniqueIdNumber, uniquePhone } from '../support/accountFixtures';
import { createTestApp, type TestApp } from '../support/testApp';
import { testEnvironment, testRun } from '../support/testEnv';

const env = testEnvironment();

describe('db: the embedded SQLite database (DATABASE_URL=sqlite:PATH)', () => {
  const file = path.join(tmpdir(), `etax-${testRun.id}.sqlite`);
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 4, 0, 0));
  let t: TestApp;
  let bindings: BindingService;

  before(async () => {
    t = await createTestApp({ clock, env: { DATABASE_URL: `sqlite:${file}` } });
    bindings = new BindingService({
      db: t.deps.db,
      audit: t.deps.audit,
      clock,
      logger: t.deps.logger,
      maxBindingsPerAccount: 1,
    });
  });
  after(async () => {
    await t?.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  });

  it('creates the schema from the same migrations at start', async () => {
    assert.equal(t.deps.db.options.type, 'better-sqlite3');
    assert.equal(await t.deps.db.showMigrations(), false);
  });

  it('authenticates, and paces a client that keeps failing without locking the account', async () => {
    const taxpayer = await createTestAccount(t.deps);
    const api = () =>
      request(t.app.callback())
        .post('/api/accounts/authenticate')
        .set('Authorization', `Bearer ${env.PORTAL_API_KEYS}`);
    assert.equal((await api().send({ loginName: taxpayer.phone, password: taxpayer.password })).status, 200);
    for (let i = 0; i < 5; i++)
      assert.equal((await api().send({ loginName: taxpayer.idNumber, password: 'wrong' })).status, 401);
    assert.equal((await api().send({ loginName: taxpayer.idNumber, password: taxpayer.password })).status, 429);
    const owner = { loginName: taxpayer.idNumber, password: taxpayer.password, clientIp: '198.51.100.9' };
    assert.equal((await api().send(owner)).status, 200, 'another client is not affected');
    clock.advance(15_000);
    assert.equal((await api().send({ loginName: taxpayer.idNumber, password: taxpayer.password })).status, 200);
  });

  it('binds one openid once, up to the account limit, and unbinds', async () => {
    const a = await createTestAccount(t.deps);
    const context = { ip: '127.0.0.1', userAgent: 'test' };
    const first = await bindings.bind({ openid: 'oSQLITE00000000000000000001', accountId: a.account.id, context });
    assert.equal(first.ok, true);
    assert.equal(
      (await bindings.bind({ openid: 'oSQLITE00000000000000000001', accountId: a.account.id, context })).ok,
      false,
    );
    const full = await bindings.bind({ openid: 'oSQLITE00000000000000000002', accountId: a.account.id, context });
    assert.deepEqual(full, { ok: false, reason: 'account_full' });
    assert.ok(first.ok && (await bindings.unbind(a.account.id, first.binding.id, context)));
    assert.equal(await t.deps.bindings.findByOpenid('oSQLITE00000000000000000001'), null);
  });

  it('registers an account and its binding in one transaction, or neither', async () => {
    const registration = new RegistrationService({
      db: t.deps.db,
      accounts: t.deps.accounts,
      bindingService: bindings,
      audit: t.deps.audit,
      verifier: new FormatOnlyIdentityVerifier(clock),
      protector: t.deps.protector,
      logger: t.deps.logger,
    });
    const context = { ip: '127.0.0.1', userAgent: 'test' };
    const openid = 'oSQLITE00000000000000000003';
    const ok = await registration.register({
      realName: '李四',
      idNumber: uniqueIdNumber(),
      phone: uniquePhone(),
      password: 'Aa-12345678',
      openid,
      context,
    });
    assert.equal(ok.ok, true);
    const idNumber = uniqueIdNumber();
    const refused = await registration.register({
      realName: '王五',
      idNumber,
      phone: uniquePhone(),
      password: 'Aa-12345678',
      openid,
      context,
    });
    assert.equal(refused.ok, false);
    const api = await request(t.app.callback())
      .post('/api/accounts/authenticate')
      .set('Authorization', `Bearer ${env.PORTAL_API_KEYS}`)
      .send({ loginName: idNumber, password: 'Aa-12345678' });
    assert.equal(api.status, 401, 'the refused registration left no account behind');
  });
});
