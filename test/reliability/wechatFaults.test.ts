import assert from 'node:assert/strict';
import { WechatBindingEntity } from '../../src/binding/WechatBinding';
import type { Fault } from '../../src/sandbox/simulator/WeChatSimulator';
import { testRun } from '../support/testEnv';
import { assertFriendlyPage } from './support/assertions';
import { FaultRig, PORTAL_KEY } from './support/faultRig';
import { timed, waitUntil } from './support/processes';

/** Each client call to WeChat gives up after this (WECHAT_API_TIMEOUT_MS); the hangs last longer. */
const API_TIMEOUT_MS = 1000;

const FAULTS: [string, Fault][] = [
  ['errcode -1 (system busy)', { errcode: -1, errmsg: 'system error' }],
  ['errcode 45009 (daily quota reached)', { errcode: 45009, errmsg: 'reach max api daily quota limit' }],
  ['HTTP 500', { status: 500 }],
  ['HTTP 502', { status: 502 }],
  ['a hang past the timeout', { hangMs: API_TIMEOUT_MS + 1500 }],
];

describe('reliability: the WeChat API (the simulator) failing or hanging', function () {
  this.timeout(60_000);
  let rig: FaultRig;

  beforeEach(async () => {
    rig = await FaultRig.start({ env: { WECHAT_API_TIMEOUT_MS: String(API_TIMEOUT_MS) } });
  });
  afterEach(async () => {
    await rig?.dispose();
  });

  const createTicket = () => rig.api().post('/api/login/tickets').set('Authorization', PORTAL_KEY).send({});
  const storedTickets = async () => (await rig.t.deps.redis!.keys(`${testRun.redisPrefix}login:{*`)).length;

  function assertWechatUnavailable(
    res: Awaited<ReturnType<typeof createTicket>>,
    ms: number,
    what: string,
    code = 'wechat_unavailable',
  ) {
    assert.equal(res.status, 503, `${what}: ${res.text}`);
    assert.equal(res.body.error.code, code, what);
    if (code === 'wechat_unavailable') assert.match(res.body.error.message, /try again/);
    assert.ok(ms < API_TIMEOUT_MS + 1500, `${what}: answered after ${ms} ms`);
  }

  it('POST /api/login/tickets answers 503 wechat_unavailable (wechat_qrcode_quota for 45009) for each qrcode/create fault, stores no ticket, and works again at once', async () => {
    assert.equal((await createTicket()).status, 201);
    for (const [what, fault] of FAULTS) {
      const stored = await storedTickets();
      rig.sim.failNext('/cgi-bin/qrcode/create', fault);
      const { value: res, ms } = await timed(createTicket);
      // With no idle scene in the pool, qrcode/create's own daily quota has its own code.
      assertWechatUnavailable(
        res,
        ms,
        what,
        'errcode' in fault && fault.errcode === 45009 ? 'wechat_qrcode_quota' : undefined,
      );
      assert.equal(await storedTickets(), stored, `${what}: no ticket stored`);
      const next = await createTicket();
      assert.equal(next.status, 201, `${what}: the next call works: ${next.text}`);
      assert.equal(await storedTickets(), stored + 1, `${what}: the next ticket is stored`);
    }
    assert.equal(rig.sim.tokenFetches(), 1, 'no fault made the service fetch the token again');
  });

  it('answers 503 wechat_unavailable when the token fetch fails or hangs, and fetches it once when WeChat is back', async () => {
    for (const [what, fault] of FAULTS) {
      rig.sim.failNext('/cgi-bin/stable_token', fault);
      const { value: res, ms } = await timed(createTicket);
      assertWechatUnavailable(res, ms, what);
    }
    assert.equal(await storedTickets(), 0);
    assert.equal(rig.sim.tokenFetches(), 0);
    // The failed fetches left no lock behind: the next one goes through, once for three callers.
    const answers = await Promise.all([createTicket(), createTicket(), createTicket()]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [201, 201, 201],
    );
    // The hung fetch of the last fault may still complete at the simulator after the client gave up.
    assert.ok(rig.sim.tokenFetches() <= 2);
    assert.equal(await storedTickets(), 3);
  });

  it('H5: a failing or hanging OAuth code exchange shows the friendly page; opening the page again works', async () => {
    const { openid } = await rig.boundTaxpayer();
    for (const [what, fault] of FAULTS) {
      const phone = rig.phone(openid);
      rig.sim.failNext('/sns/oauth2/access_token', fault);
      const { value: page, ms } = await timed(() => phone.open('/h5/bind'));
      assertFriendlyPage(page);
      assert.ok(ms < API_TIMEOUT_MS + 1500, `${what}: answered after ${ms} ms`);
      const again = await phone.open('/h5/bind');
      assert.equal(again.status, 200, `${what}: ${again.text}`);
    }
  });

  it('a failing or hanging customer-service message never holds up or undoes an unbind', async () => {
    for (const [what, fault] of FAULTS) {
      const { taxpayer } = await rig.boundTaxpayer();
      const binding = await rig.t.deps.db
        .getRepository(WechatBindingEntity)
        .findOneByOrFail({ accountId: taxpayer.account.id });
      const sendsBefore = rig.sim.calls.filter((c) => c.path.endsWith('/message/custom/send')).length;
      rig.sim.failNext('/cgi-bin/message/custom/send', fault);
      const { value: res, ms } = await timed(() =>
        rig
          .api()
          .delete(`/api/accounts/${taxpayer.account.id}/wechat-bindings/${binding.id}`)
          .set('Authorization', PORTAL_KEY),
      );
      assert.equal(res.status, 204, `${what}: ${res.text}`);
      // Waiting for the notice would take the client's whole timeout.
      if ('hangMs' in fault) assert.ok(ms < API_TIMEOUT_MS, `${what}: answered after ${ms} ms`);
      assert.equal(
        await rig.t.deps.db.getRepository(WechatBindingEntity).countBy({ id: binding.id }),
        0,
        `${what}: unbound`,
      );
      await waitUntil(
        `${what}: the notice to be attempted`,
        () => rig.sim.calls.filter((c) => c.path.endsWith('/message/custom/send')).length > sendsBefore,
      );
    }
  });
});
