import assert from 'node:assert/strict';
import type { AccessTokenStore, StoredAccessToken } from '../../src/wechat/api/AccessTokenStore';
import { useStore, type OpenStore } from './support/storeFixture';

const SECOND = 1000;
const HOUR = 3600 * SECOND;
// Midnight in Beijing (UTC+8), where WeChat's quota day starts.
const BEIJING_MIDNIGHT = Date.UTC(2031, 3, 30, 16, 0, 0);

/** What AccessTokens relies on from AccessTokenStore: the shared token, its fetch lock, WeChat's forced-refresh limits. */
export function describeAccessTokenStoreContract(name: string, open: OpenStore<AccessTokenStore>): void {
  describe(`${name} (AccessTokenStore contract)`, () => {
    const t = useStore(open, BEIJING_MIDNIGHT);
    const token = (value: string): StoredAccessToken => ({
      token: value,
      expiresAt: t.clock.now() + 2 * HOUR,
      refreshAt: t.clock.now() + HOUR,
    });

    describe('the token', () => {
      it('has none at first, then the one stored', async () => {
        assert.equal(await t.store.get(), null);
        const stored = token('T1');
        await t.store.set(stored, 2 * HOUR);
        assert.deepEqual(await t.store.get(), stored);
      });

      it('replaces the token with the next one stored', async () => {
        await t.store.set(token('T1'), 2 * HOUR);
        await t.store.set(token('T2'), 2 * HOUR);
        assert.equal((await t.store.get())!.token, 'T2');
      });

      it('forgets the token after ttlMs', async () => {
        await t.store.set(token('T1'), 7200 * SECOND);
        await t.advance(7200 * SECOND - 100);
        assert.equal((await t.store.get())!.token, 'T1');
        await t.advance(100);
        assert.equal(await t.store.get(), null);
      });
    });

    describe('the fetch lock', () => {
      it('gives the lock to one caller at a time, with an owner id', async () => {
        const owner = await t.store.lock(10 * SECOND);
        assert.equal(typeof owner, 'string');
        assert.equal(await t.store.lock(10 * SECOND), null);
        await t.store.unlock(owner!);
        const next = await t.store.lock(10 * SECOND);
        assert.ok(next);
        assert.notEqual(next, owner);
      });

      it('is released only by its owner', async () => {
        const owner = await t.store.lock(10 * SECOND);
        await t.store.unlock('someone-else');
        assert.equal(await t.store.lock(10 * SECOND), null);
        await t.store.unlock(owner!);
        assert.ok(await t.store.lock(10 * SECOND));
      });

      it('expires after ttlMs, and the former owner cannot release the next one', async () => {
        const first = await t.store.lock(10 * SECOND);
        await t.advance(10 * SECOND - 100);
        assert.equal(await t.store.lock(10 * SECOND), null);
        await t.advance(100);
        const second = await t.store.lock(10 * SECOND);
        assert.ok(second);
        await t.store.unlock(first!);
        assert.equal(await t.store.lock(10 * SECOND), null);
      });

      it('gives exactly one of 10 concurrent callers the lock', async () => {
        const owners = await Promise.all(Array.from({ length: 10 }, () => t.store.lock(10 * SECOND)));
        assert.equal(owners.filter((owner) => owner !== null).length, 1);
      });
    });

    describe('forced refreshes', () => {
      it('allows one, then none for 30 s', async () => {
        assert.equal(await t.store.takeForcedRefresh(t.clock.now()), true);
        await t.advance(29_900);
        assert.equal(await t.store.takeForcedRefresh(t.clock.now()), false);
        await t.advance(100);
        assert.equal(await t.store.takeForcedRefresh(t.clock.now()), true);
      });

      it('allows 20 a Beijing day: the 21st is refused until the next Beijing midnight, not UTC midnight', async () => {
        for (let i = 0; i < 20; i++) {
          assert.equal(await t.store.takeForcedRefresh(t.clock.now()), true, `forced refresh ${i + 1}`);
          await t.advance(30 * SECOND);
        }
        assert.equal(await t.store.takeForcedRefresh(t.clock.now()), false);
        // UTC midnight is 08:00 in Beijing: still the same quota day.
        await t.advance(BEIJING_MIDNIGHT + 8 * HOUR - t.clock.now());
        assert.equal(await t.store.takeForcedRefresh(t.clock.now()), false);
        await t.advance(BEIJING_MIDNIGHT + 24 * HOUR - t.clock.now());
        assert.equal(await t.store.takeForcedRefresh(t.clock.now()), true);
      });

      it('gives exactly one of 10 concurrent callers a forced refresh', async () => {
        const taken = await Promise.all(Array.from({ length: 10 }, () => t.store.takeForcedRefresh(t.clock.now())));
        assert.equal(taken.filter(Boolean).length, 1);
      });
    });
  });
}
