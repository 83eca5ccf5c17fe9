import assert from 'node:assert/strict';
import type { LeaseRules, PooledQrCode, QrSceneStore, SceneLease } from '../../src/login/QrSceneStore';
import { newLoginScene, newTicketIdentifiers } from '../../src/login/ticketIdentifiers';
import { useStore, type OpenStore } from './support/storeFixture';

const TTL_MS = 300_000;
const QUIET_MS = 300_000;
const MARGIN_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * What QrScenePool relies on: a scene is leased to one ticket at a time, rests for the quiet period
 * after its lease and after any scan while not leased, is never leased once its QR is too close to
 * its WeChat expiry, and a scan resolves only to the ticket that leases the scene now.
 */
export function describeQrSceneStoreContract(name: string, open: OpenStore<QrSceneStore>): void {
  describe(`${name} (QrSceneStore contract)`, () => {
    const t = useStore(open);
    const store = () => t.store;
    const rules = (): LeaseRules => {
      const now = t.clock.now();
      return { now, quietMs: QUIET_MS, usableUntil: now + TTL_MS + MARGIN_MS };
    };
    const code = (lifetimeMs = 7 * DAY_MS): PooledQrCode => ({
      scene: newLoginScene(),
      qrTicket: 'gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xLzAy+/==',
      qrUrl: 'http://weixin.qq.com/q/02abcdefghijklmnopqrst',
      expiresAt: t.clock.now() + lifetimeMs,
    });
    const leaseFor = (): SceneLease => {
      const now = t.clock.now();
      return { ticketKey: newTicketIdentifiers().sceneStr, startedAt: now, endsAt: now + TTL_MS };
    };

    it('leases nothing from an empty pool', async () => {
      assert.equal(await store().lease(leaseFor(), rules()), null);
      assert.deepEqual(await store().counts(rules()), { idle: 0, quiet: 0, leased: 0, retired: 0 });
    });

    it('hands an idle scene to one ticket, with its QR, and never to a second one while leased', async () => {
      const idle = code();
      await store().addIdle(idle, t.clock.now());
      assert.deepEqual(await store().lease(leaseFor(), rules()), idle);
      assert.equal(await store().lease(leaseFor(), rules()), null);
      assert.deepEqual(await store().counts(rules()), { idle: 0, quiet: 0, leased: 1, retired: 0 });
    });

    it('never leases one scene twice to tickets asking at once', async () => {
      for (let i = 0; i < 5; i += 1) await store().addIdle(code(), t.clock.now());
      const leased = await Promise.all(Array.from({ length: 20 }, () => store().lease(leaseFor(), rules())));
      const scenes = leased.filter((c): c is PooledQrCode => c !== null).map((c) => c.scene);
      assert.equal(scenes.length, 5);
      assert.equal(new Set(scenes).size, 5);
    });

    it('hands out the scene idle longest first', async () => {
      const older = code();
      await store().addIdle(older, t.clock.now());
      await t.advance(1000);
      await store().addIdle(code(), t.clock.now());
      assert.equal((await store().lease(leaseFor(), rules()))?.scene, older.scene);
    });

    it('rests a scene for the quiet period after its lease ends by expiry, then leases it again', async () => {
      const fresh = code();
      const first = leaseFor();
      await store().addLeased(fresh, first);
      await t.advance(TTL_MS + 1);
      assert.equal(await store().lease(leaseFor(), rules()), null, 'quiet right after the lease ended');
      assert.deepEqual(await store().counts(rules()), { idle: 0, quiet: 1, leased: 0, retired: 0 });
      await t.advance(QUIET_MS);
      assert.equal((await store().lease(leaseFor(), rules()))?.scene, fresh.scene);
    });

    it('rests a released scene from its release, and ignores a release by a ticket that no longer holds it', async () => {
      const fresh = code();
      const first = leaseFor();
      await store().addLeased(fresh, first);
      await store().release(fresh.scene, newTicketIdentifiers().sceneStr, rules());
      assert.equal((await store().counts(rules())).leased, 1, 'another ticket cannot end this lease');
      await t.advance(10_000);
      await store().release(fresh.scene, first.ticketKey, rules());
      await t.advance(QUIET_MS - 1);
      assert.equal(await store().lease(leaseFor(), rules()), null);
      await t.advance(1);
      assert.equal((await store().lease(leaseFor(), rules()))?.scene, fresh.scene);
    });

    it('resolves a scan to the ticket that leases the scene, but not a scan older than the lease', async () => {
      const fresh = code();
      await t.advance(1500);
      const lease = leaseFor();
      await store().addLeased(fresh, lease);
      assert.equal(await store().resolve(fresh.scene, t.clock.now(), rules()), lease.ticketKey);
      // CreateTime has whole seconds: a scan in the lease's first second counts as the lease's.
      assert.equal(await store().resolve(fresh.scene, lease.startedAt - 500, rules()), lease.ticketKey);
      assert.equal(await store().resolve(fresh.scene, lease.startedAt - 1500, rules()), null);
      assert.equal(await store().resolve(newLoginScene(), t.clock.now(), rules()), null);
    });

    it('answers a scan of an idle or quiet scene with nothing and restarts its quiet period', async () => {
      const idle = code();
      await store().addIdle(idle, t.clock.now());
      assert.equal(await store().resolve(idle.scene, t.clock.now(), rules()), null);
      assert.deepEqual(await store().counts(rules()), { idle: 0, quiet: 1, leased: 0, retired: 0 });
      await t.advance(QUIET_MS - 1000);
      assert.equal(await store().resolve(idle.scene, t.clock.now(), rules()), null);
      await t.advance(1000);
      assert.equal(await store().lease(leaseFor(), rules()), null, 'the second scan restarted the quiet period');
      await t.advance(QUIET_MS);
      assert.equal((await store().lease(leaseFor(), rules()))?.scene, idle.scene);
    });

    it('a scene in its quiet period never resolves to the ticket that held it', async () => {
      const fresh = code();
      const lease = leaseFor();
      await store().addLeased(fresh, lease);
      await store().release(fresh.scene, lease.ticketKey, rules());
      assert.equal(await store().resolve(fresh.scene, t.clock.now(), rules()), null);
      await t.advance(TTL_MS + 1);
      assert.equal(await store().resolve(fresh.scene, t.clock.now(), rules()), null);
    });

    it('retires a scene whose QR expires within a ticket lifetime + the margin, and never leases it', async () => {
      const dying = code(TTL_MS + MARGIN_MS + 60_000);
      await store().addIdle(dying, t.clock.now());
      await t.advance(60_000);
      assert.equal(await store().lease(leaseFor(), rules()), null);
      assert.deepEqual(await store().counts(rules()), { idle: 0, quiet: 0, leased: 0, retired: 1 });
      assert.equal(await store().resolve(dying.scene, t.clock.now(), rules()), null);
      await t.advance(TTL_MS + MARGIN_MS);
      assert.deepEqual(
        await store().counts(rules()),
        { idle: 0, quiet: 0, leased: 0, retired: 0 },
        'gone at WeChat expiry',
      );
    });

    it('retires a leased scene when its lease ends too close to its QR expiry', async () => {
      const dying = code(TTL_MS + MARGIN_MS + 60_000);
      await store().addLeased(dying, leaseFor());
      await t.advance(TTL_MS + QUIET_MS);
      assert.equal(await store().lease(leaseFor(), rules()), null);
      assert.equal((await store().counts(rules())).retired, 1);
    });

    it('counts qrcode/create calls per day', async () => {
      assert.equal(await store().createCallsOn('2031-05-01'), 0);
      assert.equal(await store().countCreateCall('2031-05-01'), 1);
      assert.equal(await store().countCreateCall('2031-05-01'), 2);
      assert.equal(await store().createCallsOn('2031-05-01'), 2);
      assert.equal(await store().countCreateCall('2031-05-02'), 1);
      assert.equal(await store().createCallsOn('2031-05-02'), 1);
    });
  });
}
