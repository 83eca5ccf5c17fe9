import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AccountConflictError } from '../../src/accounts/AccountConflictError';
import { AccountEntity } from '../../src/accounts/Account';
import { AccountStore } from '../../src/accounts/AccountStore';
import { LoginNameRefusedError } from '../../src/accounts/LoginNameRefusedError';
import { createTestAccount, uniqueIdNumber, uniquePhone } from '../support/accountFixtures';
import { createTestApp, resetState, type TestApp } from '../support/testApp';

describe('accounts/AccountStore', () => {
  let t: TestApp;
  let store: AccountStore;

  before(async () => {
    t = await createTestApp();
    store = new AccountStore(t.deps.db, t.deps.protector);
  });
  after(() => t?.close());
  beforeEach(() => resetState(t.deps));

  describe('findByLoginIdentifier', () => {
    it('finds an account by its login name', async () => {
      const { account } = await createTestAccount(t.deps, { loginName: 'zhangsan' });
      assert.equal((await store.findByLoginIdentifier('zhangsan'))?.id, account.id);
    });

    it('finds an account by its ID number, also written with a lower-case x', async () => {
      const idNumber = uniqueIdNumber({ endsWithX: true });
      const { account } = await createTestAccount(t.deps, { loginName: 'lisi', idNumber });
      assert.equal((await store.findByLoginIdentifier(idNumber))?.id, account.id);
      assert.equal((await store.findByLoginIdentifier(idNumber.toLowerCase()))?.id, account.id);
    });

    it('finds an account by its mobile number', async () => {
      const { account, phone } = await createTestAccount(t.deps, { loginName: 'wangwu' });
      assert.equal((await store.findByLoginIdentifier(phone))?.id, account.id);
    });

    it('V14.2.4 refuses to store a login name that could carry an ID or mobile number, spaced or not', async () => {
      const idNumber = uniqueIdNumber();
      const phone = uniquePhone();
      for (const loginName of [
        idNumber,
        phone,
        `${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}`,
        `tax-${phone}`,
      ]) {
        await assert.rejects(createTestAccount(t.deps, { loginName }), LoginNameRefusedError, loginName);
      }
      assert.equal(await t.deps.db.getRepository(AccountEntity).count(), 0, 'nothing written');
      const { account } = await createTestAccount(t.deps, { loginName: 'zhao-2025' });
      assert.equal((await store.findByLoginIdentifier('zhao-2025'))?.id, account.id);
    });

    it('finds nothing for an unknown login name, ID number or phone', async () => {
      await createTestAccount(t.deps, { loginName: 'zhangsan' });
      assert.equal(await store.findByLoginIdentifier('lisi'), null);
      assert.equal(await store.findByLoginIdentifier(uniqueIdNumber()), null);
      assert.equal(await store.findByLoginIdentifier(uniquePhone()), null);
    });
  });

  describe('insert', () => {
    it('turns each unique index that refuses a row into an AccountConflictError naming the field', async () => {
      const { account } = await createTestAccount(t.deps, { loginName: 'zhangsan' });
      const fresh = () => ({
        ...account,
        id: randomUUID(),
        loginName: `user${Math.random().toString(36).slice(2, 10)}`,
        idNumberIndex: t.deps.protector.index('id_number', uniqueIdNumber()),
        phoneIndex: t.deps.protector.index('phone', uniquePhone()),
      });
      // Straight to insert, past the service's look-ahead: what a concurrent insert would meet.
      for (const [field, clash] of [
        ['loginName', { loginName: 'zhangsan' }],
        ['idNumber', { idNumberIndex: account.idNumberIndex }],
        ['phone', { phoneIndex: account.phoneIndex }],
      ] as const) {
        await assert.rejects(
          store.insert({ ...fresh(), ...clash }),
          (error: unknown) => error instanceof AccountConflictError && error.field === field,
        );
      }
      await store.insert(fresh());
    });
  });
});
