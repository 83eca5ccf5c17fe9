import assert from 'node:assert/strict';
import { AccountEntity } from '../../src/accounts/Account';
import { AccountConflictError } from '../../src/accounts/AccountConflictError';
import type { AuthenticationResult } from '../../src/accounts/AccountService';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { ManualClock } from '../../src/clock/Clock';
import { createTestAccount, uniqueIdNumber, uniquePhone, type TestAccount } from '../support/accountFixtures';
import { createTestApp, resetState, type TestApp } from '../support/testApp';

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

    it('answers the first 5 failures of a client at once, then makes it wait 15 s, doubling up to 15 minutes', async () => {
      const subject = await createTestAccount(t.deps);
      for (let i = 1; i <= 5; i++) assert.equal(reasonOf(await wrong(subject)), 'invalid_credentials', `failure ${i}`);
      const waits: number[] = [];
      for (let i = 0; i < 9; i++) {
        const refused = await right(subject);
        assert.ok(!refused.ok && refused.reason === 'too_many_attempts', 'even the right password waits');
        waits.push(refused.retryAfterSeconds);
        clock.advance(refused.retryAfterSeconds * 1000);
        assert.equal(reasonOf(await wrong(subject)), 'invalid_credentials');
      }
      assert.deepEqual(waits, [15, 30, 60, 120, 240, 480, 900, 900, 900]);
    });

    it('never locks the account: the owner from another client logs in while a stranger is made to wait', async () => {
      const subject = await createTestAccount(t.deps);
      for (let i = 0; i < 6; i++) await wrong(subject);
      assert.equal(reasonOf(await wrong(subject)), 'too_many_attempts');
      for (const identifier of [subject.idNumber, subject.phone]) {
        const owner = await t.deps.accounts.authenticate(identifier, subject.password, { ...from, ip: '198.51.100.4' });
        assert.ok(owner.ok, identifier);
      }
    });

    it('starts a client afresh after its successful login', async () => {
      const subject = await createTestAccount(t.deps);
      for (let i = 0; i < 4; i++) await wrong(subject);
      assert.ok((await right(subject)).ok);
      for (let i = 0; i < 5; i++) assert.equal(reasonOf(await wrong(subject)), 'invalid_credentials');
      assert.equal(reasonOf(await wrong(subject)), 'too_many_attempts');
    });

    it('lets exactly 5 of 10 concurrent wrong attempts be checked, and refuses the others', async () => {
      const subject = await createTestAccount(t.deps);
      const reasons = (await Promise.all(Array.from({ length: 10 }, () => wrong(subject)))).map(reasonOf);
      assert.equal(reasons.filter((r) => r === 'invalid_credentials').length, 5, reasons.join());
      assert.equal(reasons.filter((r) => r === 'too_many_attempts').length, 5, reasons.join());
      assert.equal((await auditTypes()).filter((type) => type === 'authenticate_failed').length, 5);
    });

    it('clearFailures forgets the failures on every identifier of the account, from every client', async () => {
      const subject = await createTestAccount(t.deps, { loginName: 'Zhangsan' });
      const identifiers = [subject.idNumber, subject.phone, 'zhangsan'];
      for (const identifier of identifiers)
        for (let i = 0; i < 5; i++) await t.deps.accounts.authenticate(identifier, 'wrong-password', from);
      for (const identifier of identifiers)
        assert.equal(reasonOf(await t.deps.accounts.authenticate(identifier, 'x', from)), 'too_many_attempts');
      await t.deps.accounts.clearFailures(subject.account.id);
      for (const identifier of identifiers)
        assert.ok((await t.deps.accounts.authenticate(identifier, subject.password, from)).ok, identifier);
      await t.deps.accounts.clearFailures('00000000-0000-4000-8000-000000000000');
    });

    it('audits success and failure with masked details only, the failure with its count and the wait it starts', async () => {
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
        ['authenticate_succeeded', ...Array<string>(6).fill('authenticate_failed')],
      );
      assert.equal(events[0]?.accountId, subject.account.id);
      assert.equal(events[0]?.openid, 'oAbCdE1234567890123456789wxyz');
      assert.deepEqual([events[0]?.ip, events[0]?.userAgent], [from.ip, from.userAgent]);
      assert.deepEqual(events[4]?.detail, {
        reason: 'wrong_password',
        loginName: `${subject.phone.slice(0, 3)}****${subject.phone.slice(-4)}`,
        failures: 4,
        waitSeconds: 0,
      });
      assert.deepEqual(events[5]?.detail, { ...events[4]?.detail, failures: 5, waitSeconds: 15 });
      assert.deepEqual(events[6], {
        ...events[6],
        accountId: null,
        detail: { reason: 'unknown_account', failures: 1, waitSeconds: 0 },
      });
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
