import assert from 'node:assert/strict';
import type { RateLimiter } from '../../src/security/RateLimiter';
import { useStore, type OpenStore } from './support/storeFixture';

const SECOND = 1000;

/** Fixed-window counting as every RateLimiter must do it (the fixture's clock starts at a day boundary). */
export function describeRateLimiterContract(name: string, open: OpenStore<RateLimiter>): void {
  describe(`${name} (RateLimiter contract)`, () => {
    const t = useStore(open);

    it('allows hits up to the limit and refuses the next, until the end of the window', async () => {
      for (let i = 1; i <= 3; i++)
        assert.deepEqual(await t.store.hit('k', 3, 60), { allowed: true, count: i, retryAfterSeconds: 0 });
      await t.advance(20 * SECOND);
      assert.deepEqual(await t.store.hit('k', 3, 60), { allowed: false, count: 4, retryAfterSeconds: 40 });
    });

    it('starts a new window at the window boundary of the clock, not 60 s after the first hit', async () => {
      await t.advance(50 * SECOND);
      await t.store.hit('k', 1, 60);
      assert.equal((await t.store.hit('k', 1, 60)).allowed, false);
      await t.advance(10 * SECOND);
      assert.deepEqual(await t.store.hit('k', 1, 60), { allowed: true, count: 1, retryAfterSeconds: 0 });
    });

    it('rounds a part-second wait up, so a client told to wait is not refused again', async () => {
      await t.store.hit('k', 0, 60);
      await t.advance(59_500);
      assert.equal((await t.store.hit('k', 0, 60)).retryAfterSeconds, 1);
    });

    it('peeks at the count without counting', async () => {
      assert.equal(await t.store.peek('k', 60), 0);
      await t.store.hit('k', 5, 60);
      await t.store.hit('k', 5, 60);
      assert.equal(await t.store.peek('k', 60), 2);
      assert.equal(await t.store.peek('k', 60), 2);
      await t.advance(60 * SECOND);
      assert.equal(await t.store.peek('k', 60), 0);
    });

    it('keeps separate counts per key and per window length', async () => {
      await t.store.hit('a', 5, 60);
      await t.store.hit('a', 5, 3600);
      await t.store.hit('a', 5, 3600);
      await t.store.hit('b', 5, 60);
      assert.equal(await t.store.peek('a', 60), 1);
      assert.equal(await t.store.peek('a', 3600), 2);
      assert.equal(await t.store.peek('b', 60), 1);
    });

    it('keeps a long window counting while shorter windows of the key come and go', async () => {
      await t.store.hit('a', 5, 86400);
      await t.store.hit('a', 5, 60);
      await t.advance(120 * SECOND);
      await t.store.hit('a', 5, 60);
      await t.advance(3 * 3600 * SECOND);
      assert.equal((await t.store.hit('a', 5, 86400)).count, 2);
      assert.equal(await t.store.peek('a', 60), 0);
    });

    it('reset forgets every window of the key and nothing of other keys', async () => {
      await t.store.hit('a', 5, 60);
      await t.store.hit('a', 5, 86400);
      await t.store.hit('b', 5, 60);
      await t.store.reset('a');
      assert.equal(await t.store.peek('a', 60), 0);
      assert.equal(await t.store.peek('a', 86400), 0);
      assert.equal(await t.store.peek('b', 60), 1);
      assert.deepEqual(await t.store.hit('a', 1, 60), { allowed: true, count: 1, retryAfterSeconds: 0 });
    });

    it('lets exactly `limit` of many concurrent hits through, counting each once', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => t.store.hit('k', 5, 60)));
      assert.equal(results.filter((r) => r.allowed).length, 5);
      assert.deepEqual(
        results.map((r) => r.count).sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it('refuses nonsense limits and windows', async () => {
      await assert.rejects(t.store.hit('k', -1, 60), RangeError);
      await assert.rejects(t.store.hit('k', 1, 0), RangeError);
      await assert.rejects(t.store.peek('k', 1.5), RangeError);
    });
  });
}
