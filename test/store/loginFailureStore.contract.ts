import assert from 'node:assert/strict';
import type { FailurePacing, LoginFailureStore } from '../../src/accounts/LoginFailureStore';
import { useStore, type OpenStore } from './support/storeFixture';

// 2 free failures, then 10 s, 20 s, 40 s (the cap); 5 failures in total make any failing client wait 30 s.
const PACING: FailurePacing = {
  clientWaitsMs: [0, 0, 10_000, 20_000, 40_000],
  ceiling: 5,
  ceilingWaitMs: 30_000,
  forgetMs: 3_600_000,
};

/** What LoginThrottle relies on from LoginFailureStore, whatever keeps the counts. */
export function describeLoginFailureStoreContract(name: string, open: OpenStore<LoginFailureStore>): void {
  describe(`${name} (LoginFailureStore contract)`, () => {
    const t = useStore(open);
    const claim = (client = 'client-a', identifier = 'id-1') => t.store.claim(identifier, client, PACING);

    it('lets the free failures through at once, counting each, then makes the client wait ever longer up to the cap', async () => {
      assert.deepEqual(await claim(), { allowed: true, clientFailures: 1 });
      assert.deepEqual(await claim(), { allowed: true, clientFailures: 2 });
      assert.deepEqual(await claim(), { allowed: false, retryAfterMs: 10_000 });
      await t.advance(4_000);
      assert.deepEqual(await claim(), { allowed: false, retryAfterMs: 6_000 }, 'a refused try is not counted');
      await t.advance(6_000);
      assert.deepEqual(await claim(), { allowed: true, clientFailures: 3 });
      assert.deepEqual(await claim(), { allowed: false, retryAfterMs: 20_000 });
      await t.advance(20_000);
      assert.deepEqual(await claim(), { allowed: true, clientFailures: 4 });
      assert.deepEqual(await claim(), { allowed: false, retryAfterMs: 40_000 });
      await t.advance(40_000);
      assert.deepEqual(await claim(), { allowed: true, clientFailures: 5 });
      assert.deepEqual(await claim(), { allowed: false, retryAfterMs: 40_000 }, 'capped');
    });

    it('counts each client on its own, and each identifier on its own', async () => {
      await claim('client-a');
      await claim('client-a');
      assert.equal((await claim('client-a')).allowed, false);
      assert.deepEqual(await claim('client-b'), { allowed: true, clientFailures: 1 });
      assert.deepEqual(await claim('client-a', 'id-2'), { allowed: true, clientFailures: 1 });
    });

    it('past the ceiling, slows every client that has failed and never one that has not', async () => {
      for (const client of ['c1', 'c2', 'c3', 'c4']) assert.equal((await claim(client)).allowed, true);
      assert.deepEqual(await claim('c5'), { allowed: true, clientFailures: 1 }, 'the 5th failure in total');
      assert.deepEqual(await claim('c1'), { allowed: false, retryAfterMs: 30_000 }, 'a failing client waits');
      assert.deepEqual(await claim('fresh'), { allowed: true, clientFailures: 1 }, 'a fresh client goes on');
      await t.advance(30_000);
      assert.deepEqual(await claim('c1'), { allowed: true, clientFailures: 2 });
    });

    it('forgets one client on success, without new counts for an identifier it does not hold', async () => {
      await claim();
      await claim();
      await t.store.succeeded('id-1', 'client-a');
      assert.deepEqual(await claim(), { allowed: true, clientFailures: 1 });
      await t.store.succeeded('id-unknown', 'client-a');
      assert.deepEqual(await claim('client-a', 'id-unknown'), { allowed: true, clientFailures: 1 });
    });

    it('takes a success off the total, so the owner logging in does not bring the ceiling nearer', async () => {
      for (let i = 0; i < 10; i++) {
        await claim('owner');
        await t.store.succeeded('id-1', 'owner');
      }
      for (const client of ['c1', 'c2', 'c3', 'c4']) await claim(client);
      assert.equal((await claim('c1')).allowed, true, 'only 4 failures so far: no ceiling yet');
    });

    it('forgets everything on an identifier at once, and a client after forgetMs of quiet', async () => {
      await claim('client-a');
      await claim('client-a');
      await claim('client-b');
      await t.store.forget('id-1');
      assert.deepEqual(await claim('client-a'), { allowed: true, clientFailures: 1 });
      await claim('client-a');
      await t.advance(PACING.forgetMs);
      assert.deepEqual(await claim('client-a'), { allowed: true, clientFailures: 1 });
    });

    it('lets exactly the free failures through when many tries arrive at once', async () => {
      const claims = await Promise.all(Array.from({ length: 12 }, () => claim()));
      assert.equal(claims.filter((c) => c.allowed).length, 2);
    });
  });
}
