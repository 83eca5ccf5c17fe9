import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { AuditEventEntity } from '../../src/audit/AuditEvent';
import { createLogger } from '../../src/logging/createLogger';
import { visibleText, type H5Client } from '../support/H5Client';
import { assertFriendlyPage, assertServiceUnavailable } from './support/assertions';
import { FaultRig, type CreatedTicket, type RigOptions } from './support/faultRig';
import { waitUntil } from './support/processes';

/**
 * "A confirmed login is never lost" (docs/reliability.md): the phone is told 登录成功 only after
 * the confirmation is stored in Redis — any failure before that is a "try later" page and changes
 * nothing; the portal's redeem spends the confirmation only once it can hand over the account, so a
 * MySQL outage at redeem is a 503 the portal retries; and a confirmation survives a Redis crash when
 * Redis persists every write (AOF, appendfsync always). Without persistence a restart loses every
 * ticket, and both sides are told so — never a success that cannot be redeemed silently.
 */
describe('reliability: a confirmed login is never lost', function () {
  this.timeout(60_000);
  let rig: FaultRig;
  let logs: string[];

  async function start(options: RigOptions = {}) {
    logs = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    rig = await FaultRig.start({ ...options, logger: createLogger('info', sink) });
  }
  afterEach(async () => {
    await rig?.dispose();
  });

  /** A bound taxpayer's ticket, scanned, with the confirm page open on the phone. */
  async function scannedTicket(): Promise<{
    ticket: CreatedTicket;
    phone: H5Client;
    token: string;
    csrf: string;
    accountId: string;
    openid: string;
  }> {
    const { taxpayer, openid } = await rig.boundTaxpayer();
    const ticket = await rig.createTicket();
    const link = await rig.scan(openid, ticket);
    const phone = rig.phone(openid);
    const page = await phone.open(link.path);
    assert.equal(page.status, 200, visibleText(page.text));
    assert.match(visibleText(page.text), /确定登录/);
    return {
      ticket,
      phone,
      token: link.token,
      csrf: phone.csrfToken(page.text),
      accountId: taxpayer.account.id,
      openid,
    };
  }
  const confirm = (s: { phone: H5Client; token: string; csrf: string }) =>
    s.phone.post('/h5/login/confirm', { _csrf: s.csrf, c: s.token });
  const status = async (ticket: CreatedTicket) => (await rig.poll(ticket.ticketId)).body.status as string;
  const auditCount = (type: 'login_confirmed' | 'login_redeemed') =>
    rig.t.deps.db.getRepository(AuditEventEntity).countBy({ type });

  describe('on a Redis that persists every write (appendonly yes, appendfsync always)', () => {
    beforeEach(() => start({ redis: { persistence: 'aof' } }));

    it('Redis down at 确定登录: the phone is told to try later and nothing changes; after the restart the same tap confirms', async () => {
      const s = await scannedTicket();
      await rig.redis.stop();
      assertFriendlyPage(await confirm(s));
      await rig.redis.restart();
      await waitUntil('/readyz to answer 200 again', () => rig.ready(), 15_000, 100);
      assert.equal(await status(s.ticket), 'scanned', 'the failed tap confirmed nothing');
      const confirmed = await confirm(s);
      assert.equal(confirmed.status, 200);
      assert.match(visibleText(confirmed.text), /登录成功/);
      const redeemed = await rig.redeem(s.ticket.ticketId);
      assert.equal(redeemed.status, 200, redeemed.text);
      assert.equal(redeemed.body.account.id, s.accountId);
    });

    it('a confirmation acknowledged to the phone survives a Redis crash (SIGKILL) and is redeemed after the restart', async () => {
      const s = await scannedTicket();
      const confirmed = await confirm(s);
      assert.match(visibleText(confirmed.text), /登录成功/);
      await rig.redis.stop('SIGKILL');
      await rig.redis.restart();
      await waitUntil('/readyz to answer 200 again', () => rig.ready(), 15_000, 100);
      assert.equal(await status(s.ticket), 'confirmed');
      const redeemed = await rig.redeem(s.ticket.ticketId);
      assert.equal(redeemed.status, 200, redeemed.text);
      assert.equal(redeemed.body.openid, s.openid);
    });
  });

  describe("on a Redis without persistence (--save '' --appendonly no)", () => {
    beforeEach(() => start());

    it('a restart loses the ticket, and the portal and the phone are both told so; a new QR logs in', async () => {
      const s = await scannedTicket();
      assert.match(visibleText((await confirm(s)).text), /登录成功/);
      await rig.redis.stop('SIGKILL');
      await rig.redis.restart();
      await waitUntil('/readyz to answer 200 again', () => rig.ready(), 15_000, 100);

      const poll = await rig.poll(s.ticket.ticketId);
      assert.equal(poll.status, 404);
      assert.equal(poll.body.error.code, 'ticket_not_found');
      assert.equal((await rig.redeem(s.ticket.ticketId)).status, 404);
      const page = await s.phone.open(`/h5/login/confirm?c=${s.token}`);
      assert.equal(page.status, 404);
      assert.match(visibleText(page.text), /二维码已失效/);

      const ticket = await rig.createTicket();
      const link = await rig.scan(s.openid, ticket);
      const again = await s.phone.open(link.path);
      assert.match(
        visibleText(
          (await s.phone.post('/h5/login/confirm', { _csrf: s.phone.csrfToken(again.text), c: link.token })).text,
        ),
        /登录成功/,
      );
      assert.equal((await rig.redeem(ticket.ticketId)).status, 200);
    });

    it('MySQL down at redeem: 503, the login stays confirmed, and the portal redeems it once MySQL is back', async () => {
      const s = await scannedTicket();
      assert.match(visibleText((await confirm(s)).text), /登录成功/);
      await rig.mysql.cut();
      assertServiceUnavailable(await rig.redeem(s.ticket.ticketId));
      assert.equal(await status(s.ticket), 'confirmed', 'the failed redeem did not spend the confirmation');
      await rig.mysql.restore();
      const redeemed = await rig.redeem(s.ticket.ticketId);
      assert.equal(redeemed.status, 200, redeemed.text);
      assert.equal(redeemed.body.account.id, s.accountId);
      assert.equal((await rig.redeem(s.ticket.ticketId)).status, 409, 'and only once');
      assert.equal(await auditCount('login_redeemed'), 1);
    });

    it('MySQL down right after 确定登录 is stored: the phone sees 登录成功, the audit event reaches the log, the portal redeems once MySQL is back', async () => {
      const s = await scannedTicket();
      await rig.mysql.cut();
      const confirmed = await confirm(s);
      assert.equal(confirmed.status, 200, visibleText(confirmed.text));
      assert.match(visibleText(confirmed.text), /登录成功/);
      assert.equal(await status(s.ticket), 'confirmed');
      const fallback = logs
        .map((line) => JSON.parse(line) as { level: number; msg: string; audit?: { type: string; openid: string } })
        .find((entry) => entry.audit?.type === 'login_confirmed');
      assert.ok(fallback, 'the audit event is in the log');
      assert.equal(fallback.level, 50, 'at error level, since its row is missing');
      assert.ok(!JSON.stringify(fallback).includes(s.openid), 'with the openid masked');

      assertServiceUnavailable(await rig.redeem(s.ticket.ticketId));
      await rig.mysql.restore();
      const redeemed = await rig.redeem(s.ticket.ticketId);
      assert.equal(redeemed.status, 200, redeemed.text);
      assert.equal(redeemed.body.account.id, s.accountId);
      assert.equal(await auditCount('login_confirmed'), 0, 'its row was not written; the log line stands for it');
      assert.equal(await auditCount('login_redeemed'), 1);
    });
  });
});
