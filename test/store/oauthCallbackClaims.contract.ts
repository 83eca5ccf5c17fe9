import assert from 'node:assert/strict';
import type { CallbackOutcome, OAuthCallbackClaims } from '../../src/h5/oauth/OAuthCallbackClaims';
import { useStore, type OpenStore } from './support/storeFixture';

const outcome: CallbackOutcome = { fromSession: 'f'.repeat(64), sessionId: 'new-session-id', returnTo: '/h5/bind' };

/** What the OAuth callback relies on: one exchange per code, and the outcome for its repeat. */
export function describeOAuthCallbackClaimsContract(name: string, open: OpenStore<OAuthCallbackClaims>): void {
  describe(`${name} (OAuthCallbackClaims contract)`, () => {
    const t = useStore(open);

    it('lets the first callback exchange the code; a repeat sees no outcome while it runs', async () => {
      assert.deepEqual(await t.store.claim('code1'), { first: true });
      assert.deepEqual(await t.store.claim('code1'), { first: false, outcome: null });
      assert.equal(await t.store.outcome('code1'), null);
    });

    it("hands the first callback's outcome to every repeat", async () => {
      await t.store.claim('code1');
      await t.store.complete('code1', outcome);
      assert.deepEqual(await t.store.claim('code1'), { first: false, outcome });
      assert.deepEqual(await t.store.outcome('code1'), outcome);
    });

    it('lets the code be claimed afresh once released, leaving no outcome to follow', async () => {
      await t.store.claim('code1');
      await t.store.release('code1');
      assert.equal(await t.store.outcome('code1'), null);
      assert.deepEqual(await t.store.claim('code1'), { first: true });
    });

    it('records no outcome for a code nobody claimed', async () => {
      await t.store.complete('code1', outcome);
      assert.equal(await t.store.outcome('code1'), null);
      assert.deepEqual(await t.store.claim('code1'), { first: true });
    });

    it("forgets a claim after 5 minutes (an OAuth code's life), not when the outcome is recorded", async () => {
      await t.store.claim('code1');
      await t.advance(200_000);
      await t.store.complete('code1', outcome);
      await t.advance(99_900);
      assert.deepEqual(await t.store.outcome('code1'), outcome);
      await t.advance(100);
      assert.equal(await t.store.outcome('code1'), null);
      assert.deepEqual(await t.store.claim('code1'), { first: true });
    });

    it('keeps codes apart', async () => {
      await t.store.claim('code1');
      await t.store.complete('code1', outcome);
      assert.deepEqual(await t.store.claim('code2'), { first: true });
      assert.equal(await t.store.outcome('code2'), null);
    });

    it('lets exactly one of 10 concurrent callbacks with one code be first', async () => {
      const claims = await Promise.all(Array.from({ length: 10 }, () => t.store.claim('code1')));
      assert.equal(claims.filter((claim) => claim.first).length, 1);
    });
  });
}
