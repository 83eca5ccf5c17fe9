import assert from 'node:assert/strict';
import type { WebOAuthToken, WebOAuthTokenStore } from '../../src/h5/oauth/WebOAuthTokenStore';
import { useStore, type OpenStore } from './support/storeFixture';

const token = (openid: string, accessToken: string): WebOAuthToken => ({
  access_token: accessToken,
  expires_in: 7200,
  refresh_token: `refresh-${accessToken}`,
  openid,
  scope: 'snsapi_base',
  create_at: 1,
});

/** What wechat-oauth relies on through WebOAuth: a user's web token, kept for its lifetime. */
export function describeWebOAuthTokenStoreContract(name: string, open: OpenStore<WebOAuthTokenStore>): void {
  describe(`${name} (WebOAuthTokenStore contract)`, () => {
    const t = useStore(open);

    it('has no token for a user at first, then the one stored, replaced by the next', async () => {
      assert.equal(await t.store.get('oUSER1'), null);
      await t.store.set('oUSER1', token('oUSER1', 'A'), 7200);
      assert.deepEqual(await t.store.get('oUSER1'), token('oUSER1', 'A'));
      await t.store.set('oUSER1', token('oUSER1', 'B'), 7200);
      assert.equal((await t.store.get('oUSER1'))!.access_token, 'B');
    });

    it('keeps users apart', async () => {
      await t.store.set('oUSER1', token('oUSER1', 'A'), 7200);
      await t.store.set('oUSER2', token('oUSER2', 'B'), 7200);
      assert.equal((await t.store.get('oUSER1'))!.access_token, 'A');
      assert.equal((await t.store.get('oUSER2'))!.access_token, 'B');
    });

    it('forgets a token after ttlSeconds', async () => {
      await t.store.set('oUSER1', token('oUSER1', 'A'), 60);
      await t.advance(59_900);
      assert.ok(await t.store.get('oUSER1'));
      await t.advance(100);
      assert.equal(await t.store.get('oUSER1'), null);
    });
  });
}
