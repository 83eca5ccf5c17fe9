import assert from 'node:assert/strict';
import type request from 'supertest';
import { scanKeys } from '../support/redisScan';
import { BindingService, type BindResult } from '../../src/binding/BindingService';
import { redisOf } from '../support/testApp';
import { API_KEY, World } from '../security/support/world';

/**
 * Races around 实名绑定 and 微信解绑: each ends with exactly one outcome, and
 * MySQL (bindings, audit events) and Redis (SMS codes) agree with it. The unique openid index and
 * the account-row lock (BindingService) are what make them hold; these tests try to break them
 * through the real pages and API, several rounds each.
 */
describe('races: 实名绑定 and 微信解绑', () => {
  const w = new World();
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  const context = { ip: '198.51.100.9', userAgent: 'race' };
  const smsCodeKeys = async () => {
    const keys: string[] = [];
    for await (const batch of scanKeys(redisOf(w.t.deps), `${w.t.deps.keys.prefix}sms:*:code:*`)) keys.push(...batch);
    return keys;
  };
  const locationOf = (res: request.Response) => `${res.status} ${res.headers.location ?? ''}`;

  it('binds one WeChat (two sessions, two accounts, 确定绑定 at once) to exactly one account, four rounds', async () => {
    for (let round = 0; round < 4; round++) {
      await w.reset();
      const [x, y] = [await w.quickAccount(), await w.quickAccount()];
      const first = w.newUser(`一号${round}`);
      const second = w.sameUser(first.openid); // the same WeChat in another tab: another session
      const [a, b] = [await w.bindUpToConfirm(first, x), await w.bindUpToConfirm(second, y)];
      const [ra, rb] = await Promise.all([
        first.post('/h5/bind/confirm', { _csrf: a.csrf, phone: x.phone, smsCode: a.code }),
        second.post('/h5/bind/confirm', { _csrf: b.csrf, phone: y.phone, smsCode: b.code }),
      ]);
      assert.deepEqual(
        [locationOf(ra), locationOf(rb)].sort(),
        ['302 /h5/bind', '302 /h5/bind/done'],
        `round ${round}`,
      );
      const rows = await w.bindings().findBy({ openid: first.openid });
      assert.equal(rows.length, 1, 'one binding');
      const winner = ra.headers.location === '/h5/bind/done' ? x : y;
      assert.equal(rows[0]!.accountId, winner.account.id, 'to the account whose 确定绑定 won');
      const binds = await w.audit('bind');
      assert.deepEqual(
        binds.map((e) => e.accountId),
        [winner.account.id],
        "one bind event, the winner's",
      );
      const failed = (await w.audit('bind_failed')).map((e) => (e.detail as { reason: string }).reason);
      assert.deepEqual(failed, ['openid_already_bound'], 'the loser is audited');
      assert.deepEqual(await smsCodeKeys(), [], 'both SMS codes are spent');
      // Both tabs now show the one account the WeChat is bound to.
      for (const client of [first, second]) assert.match((await client.open('/h5/bind')).text, /已绑定|绑定账号|解绑/);
    }
  });

  it('lets exactly one of 20 concurrent binds of one openid through (BindingService), the rest see the winner', async () => {
    const accounts = await Promise.all(Array.from({ length: 20 }, () => w.quickAccount()));
    const openid = w.sim.createUser('抢绑').openid;
    const results = await Promise.all(
      accounts.map((a) => bindingService(w).bind({ openid, accountId: a.account.id, context })),
    );
    const ok = results.filter((r): r is Extract<BindResult, { ok: true }> => r.ok);
    assert.equal(ok.length, 1);
    for (const r of results.filter((x) => !x.ok)) {
      assert.equal(r.ok === false && r.reason, 'openid_already_bound');
      assert.equal((r as { binding: { accountId: string } }).binding.accountId, ok[0]!.binding.accountId);
    }
    assert.equal(await w.bindings().countBy({ openid }), 1);
    assert.equal((await w.audit('bind')).length, 1);
  });

  it('lets exactly one of 20 WeChats binding one account at once through (MAX_BINDINGS_PER_ACCOUNT=1)', async () => {
    const taxpayer = await w.quickAccount();
    const openids = Array.from({ length: 20 }, (_, i) => w.sim.createUser(`微信${i}`).openid);
    const results = await Promise.all(
      openids.map((openid) => bindingService(w).bind({ openid, accountId: taxpayer.account.id, context })),
    );
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.deepEqual([...new Set(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason))], ['account_full']);
    assert.equal(await w.bindings().countBy({ accountId: taxpayer.account.id }), 1);
    assert.equal((await w.audit('bind')).length, 1);
  });

  it('serialises 解绑 (portal API) racing 确定绑定 of another WeChat on the same account: each round one of the two valid outcomes (whichever took the account lock first), never two bindings, eight rounds', async () => {
    for (let round = 0; round < 8; round++) {
      await w.reset();
      const taxpayer = await w.quickAccount();
      const old = w.newUser(`旧微信${round}`);
      const bindingId = await w.insertBinding(old.openid, taxpayer);
      const newcomer = w.newUser(`新微信${round}`);
      const { csrf, code } = await w.bindUpToConfirm(newcomer, taxpayer);
      const [unbind, bind] = await Promise.all([
        w
          .api()
          .delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${bindingId}`)
          .set('Authorization', API_KEY)
          .then((r) => r),
        newcomer.post('/h5/bind/confirm', { _csrf: csrf, phone: taxpayer.phone, smsCode: code }),
      ]);
      assert.equal(unbind.status, 204, 'the unbind always goes through');
      const rows = await w.bindings().findBy({ accountId: taxpayer.account.id });
      const unbinds = await w.audit('unbind');
      const binds = await w.audit('bind');
      assert.equal(unbinds.length, 1);
      assert.equal(unbinds[0]!.openid, old.openid);
      if (bind.status === 302) {
        // 解绑 took the lock first: the newcomer found the account free.
        assert.equal(bind.headers.location, '/h5/bind/done');
        assert.deepEqual(
          rows.map((r) => r.openid),
          [newcomer.openid],
        );
        assert.equal(binds.length, 1);
        assert.ok(unbinds[0]!.id! < binds[0]!.id!, 'the unbind was recorded first');
      } else {
        // 确定绑定 took the lock first: the account was full, then 解绑 emptied it.
        assert.equal(bind.status, 409);
        assert.deepEqual(rows, []);
        assert.equal(binds.length, 0);
        assert.deepEqual(
          (await w.audit('bind_failed')).map((e) => (e.detail as { reason: string }).reason),
          ['account_full'],
        );
      }
    }
  });

  it('serialises 解绑 racing a bind of the same account under the account-row lock (BindingService), thirty rounds', async () => {
    for (let round = 0; round < 30; round++) {
      const taxpayer = await w.quickAccount();
      const [oldId, newId] = [w.sim.createUser('旧').openid, w.sim.createUser('新').openid];
      const old = await bindingService(w).bind({ openid: oldId, accountId: taxpayer.account.id, context });
      assert.ok(old.ok);
      const [removed, bound] = await Promise.all([
        bindingService(w).unbind(taxpayer.account.id, old.binding.id, context),
        bindingService(w).bind({ openid: newId, accountId: taxpayer.account.id, context }),
      ]);
      assert.equal(removed?.openid, oldId);
      const rows = await w.bindings().findBy({ accountId: taxpayer.account.id });
      assert.deepEqual(
        rows.map((r) => r.openid),
        bound.ok ? [newId] : [],
      );
      if (!bound.ok) assert.equal(bound.reason, 'account_full');
    }
    // Every bind event has its binding or a later unbind; no account ever held two.
    const events = await w.audit();
    const live = new Map<string, number>();
    for (const event of events) {
      if (event.type === 'bind') live.set(event.accountId!, (live.get(event.accountId!) ?? 0) + 1);
      if (event.type === 'unbind') live.set(event.accountId!, (live.get(event.accountId!) ?? 0) - 1);
      assert.ok((live.get(event.accountId!) ?? 0) <= 1, 'never two live bindings on one account');
    }
    for (const [accountId, count] of live)
      assert.equal(await w.bindings().countBy({ accountId }), count, 'the audit log agrees with the table');
  });
});

/** A BindingService on the app's own deps, configured as app.ts configures it. */
function bindingService(w: World): BindingService {
  const { deps } = w.t;
  return new BindingService({
    db: deps.db,
    audit: deps.audit,
    clock: deps.clock,
    logger: deps.logger,
    maxBindingsPerAccount: deps.config.maxBindingsPerAccount,
  });
}
