import assert from 'node:assert/strict';
import type { PushNonceStore } from '../../src/wechat/PushNonceStore';
import { useStore, type OpenStore } from './support/storeFixture';

/** What the push guard relies on from PushNonceStore, whatever keeps the pairs. */
export function describePushNonceStoreContract(name: string, open: OpenStore<PushNonceStore>): void {
  describe(`${name} (PushNonceStore contract)`, () => {
    const t = useStore(open);

    it('says new for a first pair, same for its body again, different for another body', async () => {
      assert.equal(await t.store.sight('pair-1', 'body-a', 600), 'new');
      assert.equal(await t.store.sight('pair-1', 'body-a', 600), 'same');
      assert.equal(await t.store.sight('pair-1', 'body-b', 600), 'different');
      assert.equal(await t.store.sight('pair-2', 'body-b', 600), 'new');
    });

    it('forgets a pair after its lifetime', async () => {
      await t.store.sight('pair-1', 'body-a', 600);
      await t.advance(599_000);
      assert.equal(await t.store.sight('pair-1', 'body-b', 600), 'different');
      await t.advance(2000);
      assert.equal(await t.store.sight('pair-1', 'body-b', 600), 'new');
    });
  });
}
