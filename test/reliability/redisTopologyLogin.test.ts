import assert from 'node:assert/strict';
import { visibleText } from '../support/H5Client';
import { ClusterSetup, SentinelSetup, type TestTopology } from '../support/redisTopologies';
import { FaultRig } from './support/faultRig';

/**
 * The whole QR login on a Sentinel setup and on a Cluster, across two instances of the service:
 * the ticket's keys, its scene lease, the confirm token, the H5 session and the change feed all
 * have to work when the client routes every command by slot or follows the Sentinel's primary.
 */
const topologies: Array<[string, () => Promise<TestTopology>]> = [
  ['a primary and a replica under three sentinels', () => SentinelSetup.start()],
  ['a Redis Cluster of three primaries with a replica each', () => ClusterSetup.start({ replicas: 1 })],
];

for (const [name, start] of topologies) {
  describe(`reliability: the QR login on ${name}, across two instances`, function () {
    this.timeout(90_000);
    let setup: TestTopology;
    let rig: FaultRig;

    before(async () => {
      setup = await start();
      rig = await FaultRig.start({ topology: setup });
    });
    after(async () => {
      await rig?.dispose();
      await setup?.dispose();
    });

    it('creates on A, holds the long-poll on A, scans and confirms through B; A wakes and redeems', async () => {
      const b = await rig.addInstance();
      const { taxpayer, openid } = await rig.boundTaxpayer();
      const ticket = await rig.createTicket();
      const held = rig.poll(ticket.ticketId, '?wait=20&status=pending').then((res) => res);

      const link = await rig.scan(openid, ticket, b);
      const phone = rig.phone(openid, b);
      const page = await phone.open(link.path);
      assert.equal(page.status, 200, visibleText(page.text));
      const scanned = await held;
      assert.equal(scanned.body.status, 'scanned', 'the poll held on A woke when B recorded the scan');

      const confirmedPoll = rig.poll(ticket.ticketId, '?wait=20&status=scanned').then((res) => res);
      const confirmed = await phone.post('/h5/login/confirm', { _csrf: phone.csrfToken(page.text), c: link.token });
      assert.match(visibleText(confirmed.text), /登录成功/);
      assert.equal((await confirmedPoll).body.status, 'confirmed');

      const redeemed = await rig.redeem(ticket.ticketId);
      assert.equal(redeemed.status, 200, redeemed.text);
      assert.equal(redeemed.body.account.id, taxpayer.account.id);
      assert.equal((await rig.redeem(ticket.ticketId, b)).status, 409, 'and only once, whichever instance asks');
    });

    it('reports every Redis primary ready on /readyz of both instances', async () => {
      for (const instance of [rig.t, ...rig.others]) {
        const res = await rig.api(instance).get('/readyz');
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.body, { status: 'ready', checks: { mysql: 'ok', redis: 'ok' } });
      }
    });
  });
}
