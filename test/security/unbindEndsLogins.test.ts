import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { visibleText, type H5Client } from '../support/H5Client';
import { createTestApp } from '../support/testApp';
import { testRun } from '../support/testEnv';
import { withStub } from '../support/withStub';
import { API_KEY, World, type CreatedTicket } from './support/world';

const mysqlDown = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' });

const stacks: [string, (file: string) => Record<string, string>][] = [
  ['MariaDB + Redis', () => ({})],
  ['SQLite + in-memory stores (the demo)', (file) => ({ DATABASE_URL: `sqlite:${file}`, REDIS_URL: 'memory' })],
];

for (const [stack, stackEnv] of stacks) {
  /**
   * A thief holds the taxpayer's old WeChat and scans the portal's QR code; the taxpayer unbinds
   * that WeChat on the portal (微信解绑). The login under way must end there.
   */
  describe(`security: unbinding a WeChat ends the logins it scanned (${stack})`, function () {
    this.timeout(30_000);
    const file = path.join(tmpdir(), `etax-${testRun.id}-unbind-logins.sqlite`);
    const w = new World({ env: stackEnv(file) });
    before(() => w.start());
    after(async () => {
      await w.stop();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    });
    beforeEach(() => w.reset());

    // The scene of the ticket's leased QR code, from the ticket itself: on the embedded stack the pool
    // outlives World.reset(), which forgets the simulator's QR codes.
    const sceneOf = async (ticket: CreatedTicket) =>
      (await w.t.deps.stores.loginTickets.byTicketId(ticket.ticketId))!.qrScene!;

    /** The thief (the taxpayer's old, still bound WeChat) has scanned a ticket and holds the confirm page. */
    async function thiefScanned() {
      const taxpayer = await w.quickAccount('林纳税');
      const thief: H5Client = w.newUser('旧微信');
      const bindingId = await w.insertBinding(thief.openid, taxpayer);
      const ticket = await w.createTicket();
      const link = w.confirmLink(await w.scan(thief.openid, await sceneOf(ticket)));
      const page = await thief.open(link.path);
      assert.match(visibleText(page.text), /确定登录/);
      return { taxpayer, thief, bindingId, ticket, token: link.token, csrf: thief.csrfToken(page.text) };
    }
    const unbind = (s: { taxpayer: { account: { id: string } }; bindingId: string }) =>
      w
        .api()
        .delete(`/api/accounts/${s.taxpayer.account.id}/wechat-bindings/${s.bindingId}`)
        .set('Authorization', API_KEY);
    const confirm = (s: { thief: H5Client; csrf: string; token: string }) =>
      s.thief.post('/h5/login/confirm', { _csrf: s.csrf, c: s.token });

    it("V7.4.3 the thief's 确定登录 after the unbind fails, the portal's poll sees cancelled, redeem returns no account", async () => {
      const s = await thiefScanned();
      const held = w.poll(s.ticket.ticketId, '?wait=10&status=scanned');
      assert.equal((await unbind(s)).status, 204);
      const woken = await held;
      assert.equal(woken.body.status, 'cancelled', 'the held poll is woken with cancelled');

      const answer = await confirm(s);
      assert.doesNotMatch(visibleText(answer.text), /登录成功/);
      assert.match(visibleText(answer.text), /本次登录已取消/);
      const redeemed = await w.redeem(s.ticket.ticketId);
      assert.equal(redeemed.status, 409, redeemed.text);
      assert.equal(redeemed.body.account, undefined);
      assert.equal((await w.poll(s.ticket.ticketId)).body.status, 'cancelled');
      const cancelled = await w.audit('login_cancelled');
      assert.deepEqual(
        cancelled.map((e) => [e.openid, e.detail?.reason, e.detail?.portal]),
        [[s.thief.openid, 'unbound', 'portal']],
      );
    });

    it('V7.4.3 a login the thief confirmed before the unbind is no longer redeemed after it', async () => {
      const s = await thiefScanned();
      assert.match(visibleText((await confirm(s)).text), /登录成功/);
      assert.equal((await unbind(s)).status, 204);
      assert.equal((await w.poll(s.ticket.ticketId)).body.status, 'cancelled');
      const redeemed = await w.redeem(s.ticket.ticketId);
      assert.equal(redeemed.status, 409, redeemed.text);
      assert.equal(redeemed.body.account, undefined);
    });

    it('确定登录 checks the binding again: removed without the tickets being told (a lost cancellation), the login is refused and cancelled', async () => {
      const s = await thiefScanned();
      await w.bindings().delete({ id: s.bindingId });
      const answer = await confirm(s);
      assert.equal(answer.status, 403);
      assert.match(visibleText(answer.text), /已解除与账号的绑定/);
      assert.equal((await w.poll(s.ticket.ticketId)).body.status, 'cancelled');
      assert.equal((await w.redeem(s.ticket.ticketId)).status, 409);
    });

    it('redeem checks the binding again: removed after 确定登录 without the tickets being told, no account is handed over', async () => {
      const s = await thiefScanned();
      assert.match(visibleText((await confirm(s)).text), /登录成功/);
      await w.bindings().delete({ id: s.bindingId });
      const redeemed = await w.redeem(s.ticket.ticketId);
      assert.equal(redeemed.status, 409, redeemed.text);
      assert.equal(redeemed.body.account, undefined);
      assert.equal((await w.poll(s.ticket.ticketId)).body.status, 'cancelled');
    });

    it('with MySQL unreachable at 确定登录 the ticket stands for the binding (the login completes), but an unbind that happened still wins', async () => {
      const kept = await thiefScanned();
      await withStub(
        w.t.deps.bindings,
        'accountIdFor',
        async () => Promise.reject(mysqlDown()),
        async () => {
          assert.match(visibleText((await confirm(kept)).text), /登录成功/);
        },
      );
      assert.equal((await w.redeem(kept.ticket.ticketId)).status, 200);

      const s = await thiefScanned();
      assert.equal((await unbind(s)).status, 204);
      await withStub(
        w.t.deps.bindings,
        'accountIdFor',
        async () => Promise.reject(mysqlDown()),
        async () => {
          assert.doesNotMatch(visibleText((await confirm(s)).text), /登录成功/);
        },
      );
      assert.equal((await w.poll(s.ticket.ticketId)).body.status, 'cancelled');
    });

    it("leaves other WeChats' logins and the taxpayer's next WeChat alone", async () => {
      const s = await thiefScanned();
      const other = await w.quickAccount('王纳税');
      const neighbour = w.newUser('邻居');
      await w.insertBinding(neighbour.openid, other);
      const theirs = await w.createTicket();
      w.confirmLink(await w.scan(neighbour.openid, await sceneOf(theirs)));
      assert.equal((await unbind(s)).status, 204);
      assert.equal((await w.poll(theirs.ticketId)).body.status, 'scanned');
    });

    if (stack === 'MariaDB + Redis') {
      it('V7.4.3 ends the login on every instance: a poll held on another instance sees cancelled', async () => {
        const s = await thiefScanned();
        const other = await createTestApp({
          clock: w.clock,
          env: { WECHAT_API_BASE: w.simUrl, WECHAT_OPEN_BASE: w.simUrl, WECHAT_MP_BASE: w.simUrl },
        });
        try {
          const held = request(other.app.callback()).get(
            `/api/login/tickets/${s.ticket.ticketId}?wait=10&status=scanned`,
          );
          const answer = held.then((r) => r);
          await new Promise((resolve) => setImmediate(resolve));
          assert.equal((await unbind(s)).status, 204);
          assert.equal((await answer).body.status, 'cancelled');
        } finally {
          await other.close();
        }
      });
    }
  });
}
