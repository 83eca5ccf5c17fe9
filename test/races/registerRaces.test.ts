import assert from 'node:assert/strict';
import { scanKeys } from '../support/redisScan';
import { BindingService } from '../../src/binding/BindingService';
import { FormatOnlyIdentityVerifier } from '../../src/registration/IdentityVerifier';
import { RegistrationService } from '../../src/registration/RegistrationService';
import { uniqueIdNumber, uniquePhone } from '../support/accountFixtures';
import { visibleText } from '../support/H5Client';
import { redisOf } from '../support/testApp';
import { PASSWORD, World } from '../security/support/world';

/**
 * Races around 实名注册. Two registrations of one ID number through the pages are
 * already raced in test/registration/registerFlow.test.ts ('lets exactly one of concurrent
 * registrations of one ID number through') and in RegistrationService.test.ts (same ID number, same
 * WeChat); these add the audit trail and Redis state of the losers, the phone, and registration
 * racing 实名绑定 of the same WeChat.
 */
describe('races: 实名注册', () => {
  const w = new World();
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  const smsCodeKeys = async () => {
    const keys: string[] = [];
    for await (const batch of scanKeys(redisOf(w.t.deps), `${w.t.deps.keys.prefix}sms:*:code:*`)) keys.push(...batch);
    return keys;
  };
  const reasons = async () => (await w.audit('register_failed')).map((e) => (e.detail as { reason: string }).reason);
  const service = () => {
    const { deps } = w.t;
    const bindingService = new BindingService({
      db: deps.db,
      audit: deps.audit,
      clock: w.clock,
      logger: deps.logger,
      maxBindingsPerAccount: 1,
    });
    return new RegistrationService({
      db: deps.db,
      accounts: deps.accounts,
      bindingService,
      audit: deps.audit,
      protector: deps.protector,
      logger: deps.logger,
      verifier: new FormatOnlyIdentityVerifier(w.clock),
    });
  };

  it('registers one of six WeChats posting 注册 with one ID number at once; the others are told, audited, and their codes spent', async () => {
    const idNumber = uniqueIdNumber();
    const clients = Array.from({ length: 6 }, (_, i) => w.newUser(`同证${i}`));
    const forms = clients.map(() => w.newForm({ idNumber }));
    const csrfs = await Promise.all(clients.map((client, i) => w.registerUpToSubmit(client, forms[i]!)));
    const results = await Promise.all(
      clients.map((client, i) => w.registerPost(client, csrfs[i]!, forms[i]!, w.smsCodeFor(forms[i]!.phone)!)),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [302, 409, 409, 409, 409, 409]);
    for (const loser of results.filter((r) => r.status === 409))
      assert.match(visibleText(loser.text), /该身份证号码已注册实名账号/);
    const winner = clients[results.findIndex((r) => r.status === 302)]!;
    const account = await w
      .accounts()
      .findOneByOrFail({ idNumberIndex: w.t.deps.protector.index('id_number', idNumber) });
    assert.equal(await w.accounts().count(), 1);
    assert.deepEqual(
      (await w.bindings().find()).map((b) => [b.openid, b.accountId]),
      [[winner.openid, account.id]],
    );
    assert.equal((await w.audit('register')).length, 1);
    assert.equal((await w.audit('bind')).length, 1);
    const failures = await reasons();
    assert.deepEqual(failures, Array(5).fill('id_number_taken'));
    assert.deepEqual(await smsCodeKeys(), [], 'every code was checked once and is spent');
  });

  it('registers one of six registrations of one phone with different ID numbers at once (RegistrationService)', async () => {
    const phone = uniquePhone();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        service().register({
          realName: '林小税',
          idNumber: uniqueIdNumber(),
          phone,
          password: PASSWORD,
          openid: w.sim.createUser(`同号${i}`).openid,
          context: { ip: '203.0.113.9', userAgent: 'race' },
        }),
      ),
    );
    assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results.map((r) => (r.ok ? 'ok' : r.reason))));
    for (const r of results.filter((x) => !x.ok)) assert.deepEqual(r, { ok: false, reason: 'taken', field: 'phone' });
    assert.equal(await w.accounts().count(), 1);
    assert.equal(await w.bindings().count(), 1);
    assert.equal((await w.audit('register')).length, 1);
  });

  it('binds a WeChat exactly once when its 注册 races its own 确定绑定 to another account: no account is left without its binding, three rounds', async () => {
    for (let round = 0; round < 3; round++) {
      await w.reset();
      const existing = await w.quickAccount('王五');
      const binder = w.newUser(`两边${round}`);
      const registrant = w.sameUser(binder.openid); // the same WeChat in a second tab
      const form = w.newForm();
      const bind = await w.bindUpToConfirm(binder, existing);
      const csrf = await w.registerUpToSubmit(registrant, form);
      const [bound, registered] = await Promise.all([
        binder.post('/h5/bind/confirm', { _csrf: bind.csrf, phone: existing.phone, smsCode: bind.code }),
        w.registerPost(registrant, csrf, form, w.smsCodeFor(form.phone)!),
      ]);
      const rows = await w.bindings().findBy({ openid: binder.openid });
      assert.equal(rows.length, 1, 'the WeChat is bound exactly once');
      const created = await w
        .accounts()
        .findOneBy({ idNumberIndex: w.t.deps.protector.index('id_number', form.idNumber) });
      if (rows[0]!.accountId === existing.account.id) {
        assert.equal(bound.headers.location, '/h5/bind/done');
        assert.equal(
          registered.headers.location,
          '/h5/register',
          'the registration saw the binding and stored nothing',
        );
        assert.equal(created, null, 'no account without its binding');
        const refusals = await reasons();
        // It saw the binding either before its transaction (the page's bound check: nothing to audit)
        // or inside it (audited); in both it stored nothing.
        assert.ok(
          [[], ['wechat_already_bound']].some((seen) => JSON.stringify(seen) === JSON.stringify(refusals)),
          `register_failed reasons: ${JSON.stringify(refusals)}`,
        );
      } else {
        assert.equal(registered.headers.location, '/h5/register/done');
        assert.equal(rows[0]!.accountId, created?.id);
        assert.equal(bound.headers.location, '/h5/bind', "the bind saw the registration's binding");
        assert.deepEqual(
          (await w.audit('bind_failed')).map((e) => (e.detail as { reason: string }).reason),
          ['openid_already_bound'],
        );
      }
      assert.equal(await w.accounts().count(), created ? 2 : 1);
      assert.equal((await w.audit('bind')).length, 1, 'one bind event in all');
    }
  });
});
