import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock/Clock';
import { MemoryPortalSessionStore, RedisPortalSessionStore, type PortalSessionData, type PortalSessionStore } from '../../src/portal/portalSession';
import { createTestApp, resetState, type TestApp } from '../support/testApp';

/** One contract, both stores: what the portal's session middleware relies on. */
describe('portal: session stores (Redis and in-memory)', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 1, 0, 0));
  before(async () => {
    t = await createTestApp();
    await resetState(t.deps);
  });
  after(async () => {
    await t?.close();
  });

  const sample = (): PortalSessionData => ({
    csrfToken: 'token', createdAt: clock.now(), lastSeenAt: clock.now(),
    account: { id: 'a', loginName: '350***********1234', realName: '张三', idNumberMasked: '350***********1234', phoneMasked: '138****5678' },
  });

  const contract = (name: string, make: () => PortalSessionStore, expire: (store: PortalSessionStore, id: string) => Promise<void>) => {
    describe(name, () => {
      it('keeps, replaces and destroys a session by id', async () => {
        const store = make();
        const id = `${name}-${Math.random().toString(36).slice(2)}`;
        assert.equal(await store.get(id), null);
        await store.set(id, sample(), 60);
        assert.deepEqual(await store.get(id), sample());
        await store.set(id, { ...sample(), csrfToken: 'other' }, 60);
        assert.equal((await store.get(id))!.csrfToken, 'other');
        await store.destroy(id);
        assert.equal(await store.get(id), null);
      });

      it('forgets a session after its time to live', async () => {
        const store = make();
        const id = `${name}-${Math.random().toString(36).slice(2)}`;
        await store.set(id, sample(), 1);
        await expire(store, id);
        assert.equal(await store.get(id), null);
      });
    });
  };

  contract('RedisPortalSessionStore', () => new RedisPortalSessionStore(t.deps.redis, t.deps.keys), async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });
  contract('MemoryPortalSessionStore', () => new MemoryPortalSessionStore(clock), async () => {
    clock.advance(1000);
  });

  it('stores Redis sessions under a hash of the id, not the id itself', async () => {
    const store = new RedisPortalSessionStore(t.deps.redis, t.deps.keys);
    await store.set('visible-cookie-value', sample(), 60);
    const keys: string[] = [];
    for await (const batch of t.deps.redis.scanIterator({ MATCH: t.deps.keys.key('portal', 'session', '*') })) keys.push(...batch);
    assert.equal(keys.length, 1);
    assert.ok(!keys[0]!.includes('visible-cookie-value'));
  });
});
