import assert from 'node:assert/strict';
import { AccountEntity } from '../../src/accounts/Account';
import { AccountConflictError } from '../../src/accounts/AccountConflictError';
import type { AuthenticationResult } from '../../src/accounts/AccountService';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { ManualClock } from '../../src/clock/Clock';
import { createTestAccount, uniqueIdNumber, uniquePhone, type TestAccount } from '../support/accountFixtures';
import { createTestApp, resetState, type TestApp } from '../support/testApp';

const MINUTE = 60_000;
const from = { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (Windows NT 10.0)' };

describe('accounts/AccountService', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2025, 10, 30, 2, 0, 0));

  before(async () => {
    t = await createTestApp({ clock });
  });
  after(() => t?.close());
  beforeEach(async () => {
    await resetState(t.deps);
    clock.set(Date.UTC(2025, 10, 30, 2, 0, 0));
  });

  const stored = async (id: string) => await t.deps.db.getRepository(AccountEntity).findOneByOrFail({ id });
  const auditTypes = async () =>
    (await t.deps.db.getRepository(AuditEventEntity).find({ order: { id: 'ASC' } })).map((e) => e.type);
  const wrong = (subject: TestAccount) => t.deps.accounts.authenticate(subject.idNumber, 'wrong-password', from);
  const right = (subject: TestAccount) => t.deps.accounts.authenticate(subject.idNumber, subject.password, from);
  const reasonOf = (result: AuthenticationResult) => (result.ok ? 'ok' : result.reason);

  describe('authenticate', () => {
    it('accepts the right password by login name, ID number (lower-case x too) and mobile number', async () => {
      const idNumber = uniqueIdNumber({ endsWithX: true });
      const subject = await createTestAccount(t.deps, { loginName: 'zhangsan', idNumber });
      for (const identifier of ['zhangsan', idNumber, idNumber.toLowerCase(), subject.phone]) {
        const result = await t.deps.accounts.authenticate(identifier, subject.password, from);
        assert.ok(result.ok, identifier);
        assert.equal(result.account.id, subject.account.id);
      }
    });

    it('gives an unknown account and a wrong password the same answer', async () => {
      const subject = await createTestAccount(t.deps);
      assert.deepEqual(await wrong(subject), { ok: false, reason: 'invalid_credentials' });
      assert.deepEqual(await t.deps.accounts.authenticate('nobody', subject.password, from), {
        ok: false,
        reason: 'invalid_credentials',
      });
    });

    it('locks the account on the 5th failure within 15 minutes, for 15 minutes', async () => {
      const subject = await createTestAccount(t.deps);
      for (let i = 1; i <= 4; i++) {
        assert.equal(reasonOf(await wrong(subject)), 'invalid_credentials', `failure ${i}`);
        clock.advance(MINUTE);
      }
      const fifth = await wrong(subject);
      assert.deepEqual(fifth, {
        ok: false,
        reason: 'account_locked',
        lockedUntil: new Date(clock.now() + 15 * MINUTE),
      });
      const row = await stored(subject.account.id);
      assert.equal(row.failedLogins, 5);
      assert.deepEqual(row.lockedUntil, new Date(clock.now() + 15 * MINUTE));
    });

    it('refuses even the right password while locked, without counting more failures', async () => {
      const subject = await createTestAccount(t.deps);
      for (let i = 0; i < 5; i++) await wrong(subject);
      clock.advance(15 * MINUTE - 1);
      assert.equal(reasonOf(await right(subject)), 'account_locked');
      assert.equal(reasonOf(await wrong(subject)), 'account_locked');
      assert.equal((await stored(subject.account.id)).failedLogins, 5);
    });

    it('unlocks once the clock passes the lock, and the count then starts afresh', async () => {
      const subject = await createTestAccount(t.deps);
      for (let i = 0; i < 5; i++) await wrong(subject);
      clock.advance(15 * MINUTE);
      assert.equal(reasonOf(await wrong(subject)), 'invalid_credentials');
      assert.equal((await stored(subject.account.id)).failedLogins, 1);
      const result = await right(subject);
      assert.ok(result.ok);
      const row = await stored(subject.account.id);
      assert.deepEqual([row.failedLogins, row.lastFailedAt, row.lockedUntil], [0, null, null]);
    });

    it('does not count failures older than the window', async () => {
      const subject = await createTestAccount(t.deps);
      for (let i = 0; i < 4; i++) await wrong(subject);
      clock.advance(15 * MINUTE + 1000);
      for (let i = 1; i <= 4; i++)
        assert.equal(reasonOf(await wrong(subject)), 'invalid_credentials', `failure ${i} after the window`);
      assert.equal((await stored(subject.account.id)).failedLogins, 4);
      assert.equal(reasonOf(await wrong(subject)), 'account_locked');
    });

    it('clears the count on a successful login', async () => {
      const subject = await createTestAccount(t.deps);
      for (let i = 0; i < 4; i++) await wrong(subject);
      assert.ok((await right(subject)).ok);
      for (let i = 0; i < 4; i++) assert.equal(reasonOf(await wrong(subject)), 'invalid_credentials');
    });

    it('locks exactly once under 10 concurrent wrong attempts and never counts past 5', async () => {
      const subject = await createTestAccount(t.deps);
      const results = await Promise.all(Array.from({ length: 10 }, () => wrong(subject)));
      const reasons = results.map(reasonOf);
      assert.equal(reasons.filter((r) => r === 'invalid_credentials').length, 4, reasons.join());
      assert.equal(reasons.filter((r) => r === 'account_locked').length, 6, reasons.join());
      assert.equal((await stored(subject.account.id)).failedLogins, 5);
      assert.equal((await auditTypes()).filter((type) => type === 'account_locked').length, 1);
      assert.equal(reasonOf(await right(subject)), 'account_locked');
    });

    it('audits success, failure and lock with masked details only', async () => {
      const subject = await createTestAccount(t.deps);
      await t.deps.accounts.authenticate(subject.idNumber, subject.password, {
        ...from,
        openid: 'oAbCdE1234567890123456789wxyz',
      });
      for (let i = 0; i < 5; i++) await t.deps.accounts.authenticate(subject.phone, 'wrong-password', from);
      await t.deps.accounts.authenticate('nobody', 'typed-a-password-here', from);

      const events = await t.deps.db.getRepository(AuditEventEntity).find({ order: { id: 'ASC' } });
      assert.deepEqual(
        events.map((e) => e.type),
        [
          'authenticate_succeeded',
          'authenticate_failed',
          'authenticate_failed',
          'authenticate_failed',
          'authenticate_failed',
          'authenticate_failed',
          'account_locked',
          'authenticate_failed',
        ],
      );
      assert.equal(events[0]?.accountId, subject.account.id);
      assert.equal(events[0]?.openid, 'oAbCdE1234567890123456789wxyz');
      assert.deepEqual([events[0]?.ip, events[0]?.userAgent], [from.ip, from.userAgent]);
      assert.deepEqual(events[5]?.detail, {
        reason: 'wrong_password',
        loginName: `${subject.phone.slice(0, 3)}****${subject.phone.slice(-4)}`,
        failedLogins: 5,
      });
      assert.deepEqual(events[7], { ...events[7], accountId: null, detail: { reason: 'unknown_account' } });
      const everything = JSON.stringify(events);
      for (const secret of [subject.idNumber, subject.phone, subject.password, 'typed-a-password-here'])
        assert.ok(!everything.includes(secret), secret);
    });
  });

  describe('createAccount', () => {
    it('leaves the login name empty by default, stores the ID upper-case, and encrypts ID and phone', async () => {
      const idNumber = uniqueIdNumber({ endsWithX: true });
      const { account, phone } = await createTestAccount(t.deps, { idNumber: idNumber.toLowerCase() });
      assert.equal(account.loginName, null);
      assert.equal(t.deps.protector.decrypt(account.idNumberEncrypted), idNumber);
      assert.equal(t.deps.protector.decrypt(account.phoneEncrypted), phone);
      assert.equal(account.idNumberIndex, t.deps.protector.index('id_number', idNumber));
      assert.match(account.passwordHash, /^\$argon2id\$/);
      assert.deepEqual(await stored(account.id), account);
    });

    it('refuses a taken ID number (whatever the case of x), phone or login name, naming the field', async () => {
      const idNumber = uniqueIdNumber({ endsWithX: true });
      const first = await createTestAccount(t.deps, { loginName: 'zhangsan', idNumber });
      const clashes = [
        ['idNumber', { idNumber }],
        ['idNumber', { idNumber: idNumber.toLowerCase() }],
        ['phone', { phone: first.phone }],
        ['loginName', { loginName: 'zhangsan' }],
      ] as const;
      for (const [field, clash] of clashes) {
        await assert.rejects(
          t.deps.accounts.createAccount({
            realName: '李四',
            idNumber: uniqueIdNumber(),
            phone: uniquePhone(),
            password: 'Another-pass-1',
            ...clash,
          }),
          (error: unknown) => error instanceof AccountConflictError && error.field === field,
          `${field}: ${JSON.stringify(clash)}`,
        );
      }
      assert.equal(await t.deps.db.getRepository(AccountEntity).count(), 1);
    });

    it('lets exactly one of two concurrent identical registrations through', async () => {
      const input = { realName: '王五', idNumber: uniqueIdNumber(), phone: uniquePhone(), password: 'Concurrent-1' };
      const outcomes = await Promise.allSettled([
        t.deps.accounts.createAccount(input),
        t.deps.accounts.createAccount(input),
      ]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.ok(refused?.reason instanceof AccountConflictError, String(refused?.reason));
      assert.equal(await t.deps.db.getRepository(AccountEntity).count(), 1);
    });

    it("creates the account inside the caller's transaction, so a rollback removes it", async () => {
      await assert.rejects(
        t.deps.db.transaction(async (manager) => {
          const account = await t.deps.accounts.createAccount(
            { realName: '赵六', idNumber: uniqueIdNumber(), phone: uniquePhone(), password: 'In-a-transaction-1' },
            manager,
          );
          assert.equal((await t.deps.accounts.findById(account.id, manager))?.id, account.id);
          throw new Error('binding failed');
        }),
        /binding failed/,
      );
      assert.equal(await t.deps.db.getRepository(AccountEntity).count(), 0);
    });
  });

  describe('phoneMatches, findById and toPublic', () => {
    it("matches only the account's own phone number", async () => {
      const { account, phone } = await createTestAccount(t.deps);
      assert.equal(t.deps.accounts.phoneMatches(account, phone), true);
      assert.equal(t.deps.accounts.phoneMatches(account, ` ${phone} `), true);
      assert.equal(t.deps.accounts.phoneMatches(account, uniquePhone()), false);
      assert.equal(t.deps.accounts.phoneMatches(account, ''), false);
    });

    it('finds an account by id, and nothing for an unknown id', async () => {
      const { account } = await createTestAccount(t.deps);
      assert.equal((await t.deps.accounts.findById(account.id))?.id, account.id);
      assert.equal(await t.deps.accounts.findById('00000000-0000-4000-8000-000000000000'), null);
    });

    it('shows ID number, phone and an ID-number login name only masked', async () => {
      const { account, idNumber, phone } = await createTestAccount(t.deps, { realName: '欧阳锋' });
      const shown = t.deps.accounts.toPublic(account);
      assert.deepEqual(shown, {
        id: account.id,
        loginName: `${idNumber.slice(0, 3)}***********${idNumber.slice(-4)}`,
        realName: '欧阳锋',
        idNumberMasked: `${idNumber.slice(0, 3)}***********${idNumber.slice(-4)}`,
        phoneMasked: `${phone.slice(0, 3)}****${phone.slice(-4)}`,
      });
      assert.ok(!JSON.stringify(shown).includes(idNumber));
      assert.ok(!JSON.stringify(shown).includes(phone));
    });
  });
});
