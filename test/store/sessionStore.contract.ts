import assert from 'node:assert/strict';
import type { ManualClock } from '../../src/clock/Clock';
import type { SessionData, SessionStore } from '../../src/http/session/SessionStore';
import { useStore, type OpenStore } from './support/storeFixture';

/** What the cookie session (src/http/session/cookieSession.ts) relies on: sessions by id, each expiring after ttlSeconds unless written again. */
export function describeSessionStoreContract<T extends SessionData>(
  name: string,
  open: OpenStore<SessionStore<T>>,
  sample: (clock: ManualClock) => T,
  /** A session acting for `accountId`, as the store under test was told to read it. */
  actingFor: (clock: ManualClock, accountId: string) => T,
): void {
  describe(`${name} (session store contract)`, () => {
    const t = useStore(open);
    const id = (n: number) => `session-id-${n}-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

    it('keeps, replaces and destroys a session by id', async () => {
      assert.equal(await t.store.get(id(1)), null);
      await t.store.set(id(1), sample(t.clock), 60);
      assert.deepEqual(await t.store.get(id(1)), sample(t.clock));
      await t.store.set(id(1), { ...sample(t.clock), csrfToken: 'other' }, 60);
      assert.equal((await t.store.get(id(1)))!.csrfToken, 'other');
      await t.store.destroy(id(1));
      assert.equal(await t.store.get(id(1)), null);
    });

    it('hands out copies: changing what was read changes nothing until it is written back', async () => {
      await t.store.set(id(1), sample(t.clock), 60);
      const read = (await t.store.get(id(1)))!;
      read.csrfToken = 'changed';
      assert.equal((await t.store.get(id(1)))!.csrfToken, sample(t.clock).csrfToken);
    });

    it('forgets a session after its time to live, and each write starts it again', async () => {
      await t.store.set(id(1), sample(t.clock), 60);
      await t.store.set(id(2), sample(t.clock), 60);
      await t.advance(50_000);
      await t.store.set(id(2), sample(t.clock), 60);
      await t.advance(9_900);
      assert.ok(await t.store.get(id(1)));
      await t.advance(100);
      assert.equal(await t.store.get(id(1)), null);
      assert.ok(await t.store.get(id(2)));
      await t.advance(50_000);
      assert.equal(await t.store.get(id(2)), null);
    });

    it('keeps a session whole seconds, at least one, for a fractional time to live', async () => {
      await t.store.set(id(1), sample(t.clock), 0.2);
      await t.advance(900);
      assert.ok(await t.store.get(id(1)));
      await t.advance(100);
      assert.equal(await t.store.get(id(1)), null);
    });

    it('keeps sessions apart', async () => {
      await t.store.set(id(1), sample(t.clock), 60);
      await t.store.set(id(2), { ...sample(t.clock), csrfToken: 'two' }, 60);
      await t.store.destroy(id(1));
      assert.equal((await t.store.get(id(2)))!.csrfToken, 'two');
    });

    it("ends every session of one account at once, the account's only, and counts those still live", async () => {
      await t.store.set(id(1), actingFor(t.clock, 'account-a'), 60);
      await t.store.set(id(2), actingFor(t.clock, 'account-a'), 600);
      await t.store.set(id(3), actingFor(t.clock, 'account-b'), 60);
      await t.store.set(id(4), sample(t.clock), 60);
      await t.store.set(id(5), actingFor(t.clock, 'account-a'), 10);
      await t.advance(11_000);
      assert.equal(await t.store.destroyForAccount('account-a'), 2, 'the expired one is not counted');
      assert.equal(await t.store.get(id(1)), null);
      assert.equal(await t.store.get(id(2)), null);
      assert.ok(await t.store.get(id(3)), "another account's session stays");
      assert.ok(await t.store.get(id(4)), 'a session acting for no account stays');
      assert.equal(await t.store.destroyForAccount('account-a'), 0);
      assert.equal(await t.store.destroyForAccount('account-unknown'), 0);
    });

    it('finds a session by the account it acted for at its last write, under its newest id', async () => {
      await t.store.set(id(1), sample(t.clock), 60);
      await t.store.set(id(1), actingFor(t.clock, 'account-a'), 60);
      // A regenerated session: the same data under a new id, the old id gone.
      await t.store.destroy(id(1));
      await t.store.set(id(2), actingFor(t.clock, 'account-a'), 60);
      // The longest-lived member keeps the index alive after shorter ones were written.
      await t.store.set(id(3), actingFor(t.clock, 'account-a'), 600);
      await t.store.set(id(4), actingFor(t.clock, 'account-a'), 30);
      await t.advance(120_000);
      assert.equal(await t.store.destroyForAccount('account-a'), 1);
      assert.equal(await t.store.get(id(3)), null);
    });
  });
}
