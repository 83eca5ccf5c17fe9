import assert from 'node:assert/strict';
import type { PushDedupeStore } from '../../src/wechat/PushDedupeStore';
import { useStore, type OpenStore } from './support/storeFixture';

/** What the WeChat endpoint relies on from PushDedupeStore, whatever keeps the claims. */
export function describePushDedupeStoreContract(name: string, open: OpenStore<PushDedupeStore>): void {
  describe(`${name} (PushDedupeStore contract)`, () => {
    const t = useStore(open);

    it('lets the first claim handle the push; a retry sees no reply while it is pending', async () => {
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: true });
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: false, reply: null });
    });

    it('hands the stored reply to every later retry', async () => {
      await t.store.claim('msg:1', 30);
      await t.store.complete('msg:1', '<xml>reply</xml>');
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: false, reply: '<xml>reply</xml>' });
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: false, reply: '<xml>reply</xml>' });
    });

    it('keeps an empty reply apart from a pending one', async () => {
      await t.store.claim('msg:1', 30);
      await t.store.complete('msg:1', '');
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: false, reply: '' });
    });

    it('lets a retry handle the push again once the claim is released', async () => {
      await t.store.claim('msg:1', 30);
      await t.store.release('msg:1');
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: true });
    });

    it('forgets a claim after its time to live, reply or not', async () => {
      await t.store.claim('msg:1', 30);
      await t.store.claim('msg:2', 30);
      await t.store.complete('msg:2', 'done');
      await t.advance(29_900);
      assert.equal((await t.store.claim('msg:1', 30)).first, false);
      await t.advance(100);
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: true });
      assert.deepEqual(await t.store.claim('msg:2', 30), { first: true });
    });

    it('does not extend the claim when the reply is stored', async () => {
      await t.store.claim('msg:1', 30);
      await t.advance(20_000);
      await t.store.complete('msg:1', 'done');
      await t.advance(10_000);
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: true });
    });

    it('stores no reply for a claim that is gone, so it cannot come back without its lifetime', async () => {
      await t.store.complete('msg:never', 'late');
      assert.deepEqual(await t.store.claim('msg:never', 30), { first: true });
      await t.store.claim('msg:1', 1);
      await t.advance(1000);
      await t.store.complete('msg:1', 'late');
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: true });
    });

    it('keeps pushes apart', async () => {
      await t.store.claim('msg:1', 30);
      await t.store.complete('msg:1', 'one');
      assert.deepEqual(await t.store.claim('msg:2', 30), { first: true });
      await t.store.release('msg:2');
      assert.deepEqual(await t.store.claim('msg:1', 30), { first: false, reply: 'one' });
    });

    it('lets exactly one of 10 concurrent claims be first', async () => {
      const claims = await Promise.all(Array.from({ length: 10 }, () => t.store.claim('evt:race', 30)));
      assert.equal(claims.filter((claim) => claim.first).length, 1);
    });
  });
}
