import assert from 'node:assert/strict';
import { CONFIRMED_GRACE_MS } from '../../src/login/LoginTicket';
import { visibleText } from '../support/H5Client';
import { redisOf } from '../support/testApp';
import { World, type CreatedTicket } from '../security/support/world';

/**
 * 微信扫码登录 racing its clock: a transition and the ticket's expiry can never
 * both win, and what the portal's poll, redeem and the audit log say afterwards agrees with the one
 * outcome. Parallel confirms and redeems at an ordinary time are raced in
 * test/login/loginFlow.test.ts ('races') and in the store contract (test/store/loginTicketStore.contract.ts).
 */
describe('races: 微信扫码登录 against expiry', () => {
  const w = new World();
  before(() => w.start());
  after(() => w.stop());
  beforeEach(() => w.reset());

  const client = { ip: '198.51.100.7', userAgent: 'race' };
  const expiryOf = (ticket: CreatedTicket) => Date.parse(ticket.expiresAt);
  const stored = (ticket: CreatedTicket) =>
    redisOf(w.t.deps).hGetAll(w.t.deps.keys.key('login', `{${ticket.ticketId.slice(0, 16)}}`));

  /** After the race: the outcome the store, the poll, redeem and the audit log all agree on. */
  async function assertOneOutcome(ticket: CreatedTicket, confirmedCount: number): Promise<'confirmed' | 'expired'> {
    assert.ok(confirmedCount <= 1, `at most one confirm wins (${confirmedCount})`);
    const hash = await stored(ticket);
    const audits = (await w.audit('login_confirmed')).length;
    if (confirmedCount === 1) {
      assert.equal(hash.st, 'confirmed');
      assert.ok(Number(hash.cfa) <= expiryOf(ticket), 'confirmed at or before the expiry');
      assert.equal(audits, 1);
      assert.equal(
        (await w.poll(ticket.ticketId)).body.status,
        'confirmed',
        'a confirmed login is not lost to the clock',
      );
      assert.equal((await w.redeem(ticket.ticketId)).status, 200);
      assert.equal((await w.redeem(ticket.ticketId)).status, 409);
      return 'confirmed';
    }
    assert.equal(hash.st, 'scanned', 'nothing was stored');
    assert.equal(hash.cfa, undefined);
    assert.equal(audits, 0);
    assert.equal((await w.poll(ticket.ticketId)).body.status, 'expired');
    const redeem = await w.redeem(ticket.ticketId);
    assert.equal(redeem.status, 409);
    assert.equal(redeem.body.error.code, 'ticket_not_confirmed');
    return 'expired';
  }

  for (const flipAfter of [1, 8, 15]) {
    it(`settles 30 确定登录 posts on one outcome when the clock passes the expiry after ${flipAfter} of them read it (ManualClock moved in flight)`, async () => {
      const taxpayer = await w.quickAccount('王纳税');
      const phone = w.newUser('王纳税');
      const { ticket, token, csrf } = await w.scannedTicket(phone, taxpayer);
      w.clock.set(expiryOf(ticket) - 500);
      // The confirm reads the clock when it is called: move the clock between two calls in flight.
      const login = w.t.deps.login;
      const original = login.confirm.bind(login);
      let calls = 0;
      login.confirm = (...args) => {
        calls += 1;
        if (calls === flipAfter + 1) w.clock.set(expiryOf(ticket) + 1);
        return original.apply(login, args);
      };
      let answers;
      try {
        answers = await Promise.all(
          Array.from({ length: 30 }, () => phone.post('/h5/login/confirm', { _csrf: csrf, c: token })),
        );
      } finally {
        login.confirm = original;
      }
      assert.equal(calls, 30);
      const texts = answers.map((a) => visibleText(a.text));
      const won = texts.filter((t) => t.includes('登录成功')).length;
      await assertOneOutcome(ticket, won);
      for (const [i, text] of texts.entries()) {
        assert.ok(/登录成功|已确认登录|二维码已过期/.test(text), `answer ${i}: ${text}`);
        assert.ok(answers[i]!.status < 500);
      }
    });
  }

  it('lets exactly one of 40 confirms at the expiry instant through, and none one millisecond later', async () => {
    const taxpayer = await w.quickAccount();
    const phone = w.newUser();
    const atInstant = await w.scannedTicket(phone, taxpayer);
    w.clock.set(expiryOf(atInstant.ticket)); // the last millisecond of its life
    const results = await Promise.all(
      Array.from({ length: 40 }, () => w.t.deps.login.confirm(atInstant.token, phone.openid, client)),
    );
    assert.equal(results.filter((r) => r.result === 'done').length, 1);
    await assertOneOutcome(atInstant.ticket, 1);

    await w.reset();
    const other = w.newUser();
    const again = await w.scannedTicket(other, await w.quickAccount());
    w.clock.set(expiryOf(again.ticket) + 1);
    const late = await Promise.all(
      Array.from({ length: 40 }, () => w.t.deps.login.confirm(again.token, other.openid, client)),
    );
    assert.deepEqual([...new Set(late.map((r) => r.result))], ['expired']);
    await assertOneOutcome(again.ticket, 0);
  });

  it('gives an expiring QR at most one owner when ten bound WeChats scan it at the expiry instant', async () => {
    const ticket = await w.createTicket();
    const scanners = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const openid = w.sim.createUser(`扫码${i}`).openid;
        await w.insertBinding(openid, await w.quickAccount());
        return openid;
      }),
    );
    const scene = w.sceneOf(ticket);
    w.clock.set(expiryOf(ticket));
    const outcomes = await Promise.all(
      scanners.map((openid) => w.t.deps.login.onScan({ scene, openid, viaSubscribe: false })),
    );
    const links = outcomes.filter((reply) => JSON.stringify(reply).includes('/h5/login/confirm?c='));
    assert.equal(links.length, 1, 'one owner, one confirm link');
    const hash = await stored(ticket);
    assert.equal(hash.st, 'scanned');
    assert.ok(scanners.includes(hash.oid!));
    assert.equal((await w.audit('login_scanned')).length, 1);
    w.clock.advance(1);
    const latecomer = w.sim.createUser('迟到').openid;
    await w.insertBinding(latecomer, await w.quickAccount());
    const late = await w.t.deps.login.onScan({ scene, openid: latecomer, viaSubscribe: false });
    assert.ok(!JSON.stringify(late).includes('/h5/login/confirm?c='), 'past the expiry nobody else gets a link');
    assert.equal((await stored(ticket)).oid, hash.oid, 'the owner stays');
  });

  it('redeems a confirmed login at most once while the clock passes the end of its grace period', async () => {
    const taxpayer = await w.quickAccount();
    const phone = w.newUser();
    const { ticket, token } = await w.scannedTicket(phone, taxpayer);
    w.clock.set(expiryOf(ticket) - 1000);
    assert.equal((await w.t.deps.login.confirm(token, phone.openid, client)).result, 'done');
    const lastMoment = Math.max(expiryOf(ticket), w.clock.now() + CONFIRMED_GRACE_MS);
    w.clock.set(lastMoment);
    const login = w.t.deps.login;
    const original = login.redeem.bind(login);
    let calls = 0;
    login.redeem = (...args) => {
      calls += 1;
      if (calls === 2) w.clock.set(lastMoment + 1);
      return original.apply(login, args);
    };
    let answers;
    try {
      answers = await Promise.all(Array.from({ length: 20 }, () => w.redeem(ticket.ticketId)));
    } finally {
      login.redeem = original;
    }
    const redeemed = answers.filter((a) => a.status === 200).length;
    assert.ok(redeemed <= 1, `at most one redeem wins (${redeemed})`);
    for (const a of answers.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 409);
      assert.match(a.body.error.code, /^ticket_(already_redeemed|not_confirmed)$/);
    }
    const hash = await stored(ticket);
    const audits = (await w.audit('login_redeemed')).length;
    if (redeemed === 1) {
      assert.equal(hash.st, 'redeemed');
      assert.equal(audits, 1);
      assert.equal((await w.poll(ticket.ticketId)).body.status, 'redeemed');
    } else {
      assert.equal(hash.st, 'confirmed', 'nothing was spent');
      assert.equal(audits, 0);
      assert.equal((await w.poll(ticket.ticketId)).body.status, 'expired');
    }
  });
});
