import assert from 'node:assert/strict';
import { tagOf } from '../../src/login/ticketIdentifiers';
import { visibleText, type H5Client } from '../support/H5Client';
import { ClusterSetup, SentinelSetup, type TestTopology } from '../support/redisTopologies';
import { APOLOGY, assertFriendlyPage } from './support/assertions';
import { FaultRig, type CreatedTicket } from './support/faultRig';
import { waitUntil } from './support/processes';

const CONFIRMATIONS = 100;
/** Confirmations acknowledged before the primary is killed; the rest are in flight or after it. */
const KILL_AFTER = 30;
const IN_FLIGHT = 4;
/**
 * Generous, for a loaded CI machine: the setups call a node down after 0.4 s (Sentinel) or 1 s
 * (Cluster); the windows measured are in docs/reliability.md.
 */
const WINDOW_BOUND_MS = 30_000;

interface Failover {
  name: string;
  start(): Promise<TestTopology>;
  /** Kills (SIGKILL) the primary that holds `ticketId`'s keys. */
  killPrimary(setup: TestTopology, ticketId: string): Promise<void>;
}

/** Two replicas per primary: after one is promoted, the other still acknowledges WAIT. */
const failovers: Failover[] = [
  {
    name: 'Sentinel: the primary of a primary and two replicas under three sentinels',
    start: () => SentinelSetup.start({ replicas: 2 }),
    async killPrimary(setup) {
      const sentinel = setup as SentinelSetup;
      const port = await sentinel.primaryPort();
      await [sentinel.primary, ...sentinel.replicas].find((node) => node.port === port)!.stop('SIGKILL');
    },
  },
  {
    name: 'Cluster: one primary of three, each with two replicas',
    start: () => ClusterSetup.start({ replicas: 2 }),
    async killPrimary(setup, ticketId) {
      // The primary of the next ticket's slot (its keys share the hash tag), so confirmations meet the failover.
      const owner = await (setup as ClusterSetup).primaryServing(`{${tagOf(ticketId)!}}`);
      await owner.stop('SIGKILL');
    },
  },
];

for (const failover of failovers) {
  describe(`reliability: ${failover.name} killed while ${CONFIRMATIONS} confirmations are in flight`, function () {
    this.timeout(180_000);
    let setup: TestTopology;
    let rig: FaultRig;

    before(async () => {
      setup = await failover.start();
      // Every ticket outlives the manual clock's one second per push.
      rig = await FaultRig.start({
        topology: setup,
        env: { LOGIN_TICKET_TTL_SECONDS: '1800', LOG_LEVEL: process.env.DEBUG_LOG ?? 'silent' },
      });
    });
    after(async () => {
      await rig?.dispose();
      await setup?.dispose();
    });

    it('loses no acknowledged confirmation, and WeChat and the portal see errors only during the failover window', async () => {
      const second = await rig.addInstance();
      const { taxpayer, openid } = await rig.boundTaxpayer();
      const phone = rig.phone(openid);
      const opened: Array<{ ticket: CreatedTicket; token: string; csrf: string }> = [];
      for (let i = 0; i < CONFIRMATIONS; i++) {
        const ticket = await rig.createTicket(i % 2 ? second : rig.t);
        const link = await rig.scan(openid, ticket);
        const page = await phone.open(link.path);
        assert.equal(page.status, 200, visibleText(page.text));
        opened.push({ ticket, token: link.token, csrf: phone.csrfToken(page.text) });
      }

      const acknowledged = new Map<string, number>();
      let killedAt = 0;
      let firstAckAfterKill = 0;
      let lastRefusalAt = 0;
      const confirmUntilAcknowledged = async (entry: (typeof opened)[number], via: H5Client) => {
        await waitUntil(
          `ticket ${entry.ticket.ticketId.slice(0, 8)} acknowledged`,
          async () => {
            await push();
            const res = await via.post('/h5/login/confirm', { _csrf: entry.csrf, c: entry.token });
            const shown = visibleText(res.text);
            if (/登录成功|已确认登录/.test(shown)) {
              const now = Date.now();
              acknowledged.set(entry.ticket.ticketId, now);
              if (killedAt && !firstAckAfterKill) firstAckAfterKill = now;
              return true;
            }
            assertFriendlyPage(res);
            lastRefusalAt = Date.now();
            return false;
          },
          60_000,
          50,
        );
      };

      // WeChat keeps pushing during the failover, one push beside each confirm attempt: every push is
      // answered, with a reply or the apology.
      let lastApologyAt = 0;
      const push = async () => {
        const res = await rig.push((d) => d.textMessage(openid, '你好'), second);
        assert.equal(res.status, 200, res.text);
        if ((await rig.replyText(res)) === APOLOGY) lastApologyAt = Date.now();
      };

      let next = 0;
      const workers = Array.from({ length: IN_FLIGHT }, async () => {
        while (next < opened.length) {
          const entry = opened[next++]!;
          if (!killedAt && acknowledged.size >= KILL_AFTER) {
            killedAt = Date.now();
            await failover.killPrimary(setup, entry.ticket.ticketId);
          }
          await confirmUntilAcknowledged(entry, phone);
        }
      });
      await Promise.all(workers);

      assert.ok(killedAt > 0, 'the primary was killed mid-run');
      assert.equal(acknowledged.size, CONFIRMATIONS);
      for (const { ticket } of opened) {
        const poll = await rig.poll(ticket.ticketId, '', second);
        assert.equal(
          (poll.body as { status: string }).status,
          'confirmed',
          `ticket ${ticket.ticketId.slice(0, 8)} is still confirmed`,
        );
        const redeemed = await rig.redeem(ticket.ticketId);
        assert.equal(redeemed.status, 200, redeemed.text);
        assert.equal((redeemed.body as { account: { id: string } }).account.id, taxpayer.account.id);
      }
      // The window each side saw, from the kill to its last error; both end by themselves.
      const confirmWindow = Math.max(0, lastRefusalAt - killedAt);
      const pushWindow = Math.max(0, lastApologyAt - killedAt);
      assert.ok(confirmWindow < WINDOW_BOUND_MS, `the phone met errors for ${confirmWindow} ms`);
      assert.ok(pushWindow < WINDOW_BOUND_MS, `WeChat met the apology for ${pushWindow} ms`);
      const before = lastApologyAt;
      await push();
      assert.equal(lastApologyAt, before, 'a push after the failover is answered normally');
      process.stdout.write(
        `      failover window: the phone ${confirmWindow} ms (first confirmation after the kill at ` +
          `${firstAckAfterKill - killedAt} ms), WeChat ${pushWindow} ms\n`,
      );
    });
  });
}
