import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AccountEntity } from '../../src/accounts/Account';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { AuditLog, type AuditEntry } from '../../src/audit/AuditLog';
import { BindingService, type BindRequest, type BindResult } from '../../src/binding/BindingService';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import { ManualClock } from '../../src/clock/Clock';
import { FormatOnlyIdentityVerifier, type IdentityVerifier } from '../../src/registration/IdentityVerifier';
import { RegistrationService, type RegistrationRequest } from '../../src/registration/RegistrationService';
import { createTestAccount, uniqueIdNumber, uniquePhone } from '../support/accountFixtures';
import { createTestApp, resetState, type TestApp } from '../support/testApp';

describe('registration: RegistrationService (one transaction for account, audit and binding)', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ clock });
  });
  after(() => t?.close());
  beforeEach(() => resetState(t.deps));

  const accountRows = () => t.deps.db.getRepository(AccountEntity).count();
  const bindingRows = () => t.deps.db.getRepository(WechatBindingEntity).count();
  const registerEvents = () => t.deps.db.getRepository(AuditEventEntity).countBy({ type: 'register' });

  function bindingService(): BindingService {
    return new BindingService({
      db: t.deps.db,
      audit: t.deps.audit,
      clock,
      logger: t.deps.logger,
      maxBindingsPerAccount: 1,
    });
  }

  function service(
    overrides: { audit?: AuditLog; binder?: BindingService; verifier?: IdentityVerifier } = {},
  ): RegistrationService {
    return new RegistrationService({
      db: t.deps.db,
      accounts: t.deps.accounts,
      bindingService: overrides.binder ?? bindingService(),
      audit: overrides.audit ?? t.deps.audit,
      verifier: overrides.verifier ?? new FormatOnlyIdentityVerifier(clock),
      protector: t.deps.protector,
      logger: t.deps.logger,
    });
  }

  const openid = () => `o${randomBytes(14).toString('base64url')}`;
  const request = (overrides: Partial<RegistrationRequest> = {}): RegistrationRequest => ({
    realName: '林小税',
    idNumber: uniqueIdNumber(),
    phone: uniquePhone(),
    password: 'Fj-tax-2025!',
    openid: openid(),
    context: { ip: '203.0.113.9', userAgent: 'MicroMessenger/8.0' },
    ...overrides,
  });

  it('creates the account without a login name (it logs in by ID number or phone), binds the WeChat and records register, all together', async () => {
    const req = request({ idNumber: uniqueIdNumber({ endsWithX: true }) });
    const result = await service().register(req);
    assert.ok(result.ok);
    assert.equal(result.account.loginName, null);
    assert.equal(result.verification, 'format_only');
    const binding = await t.deps.bindings.findByOpenid(req.openid);
    assert.equal(binding?.accountId, result.account.id);
    const [event] = await t.deps.db.getRepository(AuditEventEntity).findBy({ type: 'register' });
    assert.equal(event?.accountId, result.account.id);
    assert.equal(event?.openid, req.openid);
    assert.deepEqual(event?.detail, {
      loginName: `${req.idNumber.slice(0, 3)}***********${req.idNumber.slice(-4)}`,
      verification: 'format_only',
    });
    assert.ok(!JSON.stringify(event).includes(req.idNumber), 'no unmasked ID number in the audit log');
  });

  it('rolls the account back when the WeChat is already bound (the bind fails inside the transaction)', async () => {
    const other = await createTestAccount(t.deps);
    const req = request();
    assert.ok(
      (await bindingService().bind({ openid: req.openid, accountId: other.account.id, context: req.context })).ok,
    );

    const result = await service().register(req);
    assert.deepEqual(result, { ok: false, reason: 'wechat_already_bound' });
    assert.equal(await accountRows(), 1, 'only the account that was there');
    assert.equal(
      await t.deps.db
        .getRepository(AccountEntity)
        .countBy({ idNumberIndex: t.deps.protector.index('id_number', req.idNumber) }),
      0,
    );
    assert.equal(await bindingRows(), 1);
    assert.equal(await registerEvents(), 0);
  });

  it('rolls the binding and the account back when anything after the bind fails', async () => {
    class BindThenFail extends BindingService {
      override async bind(bindRequest: BindRequest, manager?: EntityManager): Promise<BindResult> {
        const result = await super.bind(bindRequest, manager);
        assert.ok(result.ok, 'the binding row was written inside the transaction');
        assert.equal(await manager!.getRepository(WechatBindingEntity).countBy({ openid: bindRequest.openid }), 1);
        throw new Error('simulated failure after the bind');
      }
    }
    const req = request();
    await assert.rejects(
      service({
        binder: new BindThenFail({
          db: t.deps.db,
          audit: t.deps.audit,
          clock,
          logger: t.deps.logger,
          maxBindingsPerAccount: 1,
        }),
      }).register(req),
      /simulated failure after the bind/,
    );
    assert.equal(await accountRows(), 0);
    assert.equal(await bindingRows(), 0);
    assert.equal(await registerEvents(), 0);
  });

  it('rolls everything back when the register audit event cannot be written', async () => {
    class FailingAudit extends AuditLog {
      override async record(entry: AuditEntry, manager?: EntityManager): Promise<void> {
        if (entry.type === 'register') throw new Error('audit table unavailable');
        return super.record(entry, manager);
      }
    }
    const req = request();
    await assert.rejects(
      service({ audit: new FailingAudit(t.deps.db, clock, t.deps.logger) }).register(req),
      /audit table unavailable/,
    );
    assert.equal(await accountRows(), 0);
    assert.equal(await bindingRows(), 0);
  });

  it('stores nothing when the identity verifier refuses, and nothing when it fails', async () => {
    const refusing: IdentityVerifier = {
      verify: () =>
        Promise.resolve({ ok: false, field: 'realName', message: '姓名与身份证号码不一致', reason: 'mismatch' }),
    };
    const result = await service({ verifier: refusing }).register(request());
    assert.deepEqual(result, {
      ok: false,
      reason: 'identity_refused',
      field: 'realName',
      message: '姓名与身份证号码不一致',
      detail: 'mismatch',
    });
    const unreachable: IdentityVerifier = {
      verify: () => Promise.reject(new Error('verification service unreachable')),
    };
    await assert.rejects(service({ verifier: unreachable }).register(request()), /unreachable/);
    assert.equal(await accountRows(), 0);
    assert.equal(await bindingRows(), 0);
  });

  it('names the field another account holds: ID number or phone', async () => {
    const existing = await createTestAccount(t.deps);
    assert.deepEqual(await service().register(request({ idNumber: existing.idNumber.toLowerCase() })), {
      ok: false,
      reason: 'taken',
      field: 'idNumber',
    });
    assert.deepEqual(await service().register(request({ phone: existing.phone })), {
      ok: false,
      reason: 'taken',
      field: 'phone',
    });
    assert.equal(await accountRows(), 1);
    assert.equal(await bindingRows(), 0);
  });

  it('lets exactly one of concurrent registrations of one ID number through', async () => {
    const idNumber = uniqueIdNumber();
    const results = await Promise.all(Array.from({ length: 5 }, () => service().register(request({ idNumber }))));
    assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results.map((r) => (r.ok ? 'ok' : r.reason))));
    for (const r of results.filter((x) => !x.ok)) assert.equal(r.ok ? '' : r.reason, 'taken');
    assert.equal(await accountRows(), 1);
    assert.equal(await bindingRows(), 1);
    assert.equal(await registerEvents(), 1);
  });

  it('lets exactly one of concurrent registrations from one WeChat through; the other leaves no account', async () => {
    const wechat = openid();
    const results = await Promise.all(Array.from({ length: 3 }, () => service().register(request({ openid: wechat }))));
    assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results.map((r) => (r.ok ? 'ok' : r.reason))));
    for (const r of results.filter((x) => !x.ok)) assert.equal(r.ok ? '' : r.reason, 'wechat_already_bound');
    assert.equal(await accountRows(), 1);
    assert.equal(await bindingRows(), 1);
    assert.equal(await registerEvents(), 1);
  });

  it('answers whether a phone is taken', async () => {
    const existing = await createTestAccount(t.deps);
    assert.equal(await service().phoneTaken(existing.phone), true);
    assert.equal(await service().phoneTaken(uniquePhone()), false);
  });
});
