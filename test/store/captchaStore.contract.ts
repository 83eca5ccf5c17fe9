import assert from 'node:assert/strict';
import type { CaptchaStore } from '../../src/captcha/CaptchaStore';
import { useStore, type OpenStore } from './support/storeFixture';

/** What CaptchaService relies on: one answer per scope, taken in one step so it is guessed once. */
export function describeCaptchaStoreContract(name: string, open: OpenStore<CaptchaStore>): void {
  describe(`${name} (CaptchaStore contract)`, () => {
    const t = useStore(open);
    const answer = (text: string) => ({ answer: text, expiresAt: t.clock.now() + 300_000 });

    it('hands the answer out once', async () => {
      await t.store.put('s:bind', answer('AB23'), 300);
      assert.deepEqual(await t.store.take('s:bind'), answer('AB23'));
      assert.equal(await t.store.take('s:bind'), null);
    });

    it('has nothing for a scope never issued', async () => {
      assert.equal(await t.store.take('nobody:bind'), null);
    });

    it('keeps only the latest answer of a scope', async () => {
      await t.store.put('s:bind', answer('AB23'), 300);
      await t.store.put('s:bind', answer('CD45'), 300);
      assert.equal((await t.store.take('s:bind'))!.answer, 'CD45');
      assert.equal(await t.store.take('s:bind'), null);
    });

    it('keeps scopes apart', async () => {
      await t.store.put('s:bind', answer('AB23'), 300);
      await t.store.put('s:sms', answer('CD45'), 300);
      await t.store.put('t:bind', answer('EF67'), 300);
      assert.equal((await t.store.take('s:sms'))!.answer, 'CD45');
      assert.equal((await t.store.take('s:bind'))!.answer, 'AB23');
      assert.equal((await t.store.take('t:bind'))!.answer, 'EF67');
    });

    it('forgets the answer after ttlSeconds', async () => {
      await t.store.put('s:bind', answer('AB23'), 300);
      await t.store.put('s:sms', answer('CD45'), 300);
      await t.advance(299_900);
      assert.equal((await t.store.take('s:bind'))!.answer, 'AB23');
      await t.advance(100);
      assert.equal(await t.store.take('s:sms'), null);
    });

    it('hands the answer to exactly one of 10 concurrent takers', async () => {
      await t.store.put('s:bind', answer('AB23'), 300);
      const taken = await Promise.all(Array.from({ length: 10 }, () => t.store.take('s:bind')));
      assert.equal(taken.filter((value) => value !== null).length, 1);
    });
  });
}
