import assert from 'node:assert/strict';
import { newTicketIdentifiers } from '../../src/login/ticketIdentifiers';
import { RedisLoginTicketStore } from '../../src/login/RedisLoginTicketStore';
import { isDependencyFailure } from '../../src/http/dependencyFailure';
import { RedisKeys } from '../../src/store/RedisKeys';
import { ReplicaAcks } from '../../src/store/ReplicaAcks';
import { SentinelSetup } from '../support/redisTopologies';
import { testRun } from '../support/testEnv';
import { useTestRedis } from './support/testRedis';

describe('store: a confirmation is acknowledged only once a replica holds it (WAIT)', function () {
  this.timeout(60_000);
  let setup: SentinelSetup | null = null;
  before(async () => {
    setup = await SentinelSetup.start();
  });
  after(async () => {
    setup?.replica.resume();
    await setup?.dispose();
  });
  const redis = useTestRedis(() => setup!.topology);

  async function scannedTicket(store: RedisLoginTicketStore) {
    const ids = newTicketIdentifiers();
    const now = Date.now();
    await store.create({
      ...ids,
      status: 'pending',
      createdAt: now,
      expiresAt: now + 300_000,
      clientIp: '',
      browser: '',
      portal: 'portal',
      portalDisplayName: '网上税务局',
    });
    assert.equal((await store.scan(ids.sceneStr, 'oPHONE', 'account-1', now)).result, 'scanned');
    return ids;
  }

  it('confirms and redeems at once while the replica follows', async () => {
    const store = new RedisLoginTicketStore(
      redis.client,
      new RedisKeys(`${testRun.redisPrefix}acks:`),
      new ReplicaAcks(1, 500),
    );
    const ids = await scannedTicket(store);
    assert.deepEqual(await store.confirm(ids.confirmToken, 'oPHONE', Date.now()), { result: 'done' });
    assert.equal((await store.redeem(ids.ticketId, 'portal', Date.now())).result, 'redeemed');
  });

  it('refuses to acknowledge a confirmation no replica has taken (a 503, retried by the phone)', async () => {
    const store = new RedisLoginTicketStore(
      redis.client,
      new RedisKeys(`${testRun.redisPrefix}acks:`),
      new ReplicaAcks(1, 100),
    );
    const ids = await scannedTicket(store);
    setup!.replica.pause();
    try {
      await assert.rejects(store.confirm(ids.confirmToken, 'oPHONE', Date.now()), (error: Error) => {
        assert.match(error.message, /^NOREPLICAS 0 of 1/);
        assert.ok(isDependencyFailure(error));
        return true;
      });
    } finally {
      setup!.replica.resume();
    }
  });
});
