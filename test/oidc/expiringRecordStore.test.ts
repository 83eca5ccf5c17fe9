import assert from 'node:assert/strict';
import type { ExpiringRecordStore } from '../../src/oidc/ExpiringRecordStore';
import { MemoryExpiringRecordStore } from '../../src/oidc/MemoryExpiringRecordStore';
import { RedisExpiringRecordStore } from '../../src/oidc/RedisExpiringRecordStore';
import { RedisKeys } from '../../src/store/RedisKeys';
import { testRun } from '../support/testEnv';
import { inMemory, useStore, type OpenStore } from '../store/support/storeFixture';
import { useTestRedis } from '../store/support/testRedis';
import { scanKeys } from '../support/redisScan';

function describeExpiringRecordStoreContract(name: string, open: OpenStore<ExpiringRecordStore>): void {
  describe(`${name} (ExpiringRecordStore contract)`, () => {
    const t = useStore(open);

    it('reads back what was written, until its lifetime ends', async () => {
      await t.store.upsert('Session:a', { accountId: '7', nested: { amr: ['wx'] } }, 60);
      assert.deepEqual(await t.store.get('Session:a'), {
        payload: { accountId: '7', nested: { amr: ['wx'] } },
        consumedAt: null,
      });
      await t.advance(59_000);
      assert.ok(await t.store.get('Session:a'));
      await t.advance(1_000);
      assert.equal(await t.store.get('Session:a'), null);
    });

    it('has nothing for an id never written', async () => {
      assert.equal(await t.store.get('Session:none'), null);
    });

    it('marks a record consumed once read, and a rewrite clears it', async () => {
      await t.store.upsert('AuthorizationCode:c', { grantId: 'g' }, 60, 'g');
      await t.store.consume('AuthorizationCode:c', 1234);
      assert.deepEqual(await t.store.get('AuthorizationCode:c'), { payload: { grantId: 'g' }, consumedAt: 1234 });
      await t.store.upsert('AuthorizationCode:c', { grantId: 'g' }, 60, 'g');
      assert.equal((await t.store.get('AuthorizationCode:c'))!.consumedAt, null);
    });

    it('does not bring back an expired record by consuming it', async () => {
      await t.store.upsert('AuthorizationCode:c', { grantId: 'g' }, 10, 'g');
      await t.advance(10_000);
      await t.store.consume('AuthorizationCode:c', 1234);
      assert.equal(await t.store.get('AuthorizationCode:c'), null);
    });

    it('destroys one record, grouped or not', async () => {
      await t.store.upsert('Session:a', { x: 1 }, 60);
      await t.store.upsert('AccessToken:b', { x: 2 }, 60, 'g');
      await t.store.destroy('Session:a');
      await t.store.destroy('AccessToken:b');
      assert.equal(await t.store.get('Session:a'), null);
      assert.equal(await t.store.get('AccessToken:b'), null);
    });

    it('destroys a whole group and nothing else', async () => {
      await t.store.upsert('Grant:g', { x: 0 }, 600, 'g');
      await t.store.upsert('AuthorizationCode:c', { x: 1 }, 60, 'g');
      await t.store.upsert('AccessToken:a', { x: 2 }, 3600, 'g');
      await t.store.upsert('AccessToken:other', { x: 3 }, 3600, 'h');
      await t.store.upsert('Session:s', { x: 4 }, 3600);
      await t.store.destroyGroup('g');
      for (const id of ['Grant:g', 'AuthorizationCode:c', 'AccessToken:a']) assert.equal(await t.store.get(id), null);
      assert.ok(await t.store.get('AccessToken:other'));
      assert.ok(await t.store.get('Session:s'));
    });

    it('lists the live members of a group, and only those', async () => {
      await t.store.upsert('AccountSession:s1', { x: 1 }, 60, 'account:a');
      await t.store.upsert('AccountSession:s2', { x: 2 }, 600, 'account:a');
      await t.store.upsert('AccountSession:s3', { x: 3 }, 600, 'account:b');
      assert.deepEqual((await t.store.groupMembers('account:a')).sort(), ['AccountSession:s1', 'AccountSession:s2']);
      await t.advance(60_000);
      assert.deepEqual(await t.store.groupMembers('account:a'), ['AccountSession:s2']);
      await t.store.destroy('AccountSession:s2');
      assert.deepEqual(await t.store.groupMembers('account:a'), []);
      assert.deepEqual(await t.store.groupMembers('account:none'), []);
    });

    it('keeps a group as long as its longest-lived member', async () => {
      await t.store.upsert('AccessToken:long', { x: 1 }, 3600, 'g');
      await t.store.upsert('AuthorizationCode:short', { x: 2 }, 60, 'g');
      await t.advance(600_000);
      await t.store.destroyGroup('g');
      assert.equal(await t.store.get('AccessToken:long'), null);
    });
  });
}

describe('oidc: storage of the provider', () => {
  const redis = useTestRedis();
  describeExpiringRecordStoreContract(
    'RedisExpiringRecordStore',
    redis.open((client, keys) => new RedisExpiringRecordStore(client, keys, 'oidc')),
  );
  describeExpiringRecordStoreContract(
    'MemoryExpiringRecordStore',
    inMemory((clock) => new MemoryExpiringRecordStore(clock)),
  );

  it('keeps every key of one grant in one Redis Cluster slot', async () => {
    const keys = new RedisKeys(`${testRun.redisPrefix}slots:`);
    const store = new RedisExpiringRecordStore(redis.client, keys, 'oidc');
    await store.upsert('Grant:g1', { x: 0 }, 60, 'g1');
    await store.upsert('AccessToken:t1', { x: 1 }, 60, 'g1');
    const written: string[] = [];
    for await (const batch of scanKeys(redis.client, `${keys.prefix}*{g:g1}*`)) written.push(...batch);
    const slots = new Set(written.map((key) => /\{([^}]*)\}/.exec(key)![1]));
    assert.equal(written.length, 3);
    assert.deepEqual([...slots], ['g:g1']);
    await redis.client.del([
      ...written,
      keys.key('oidc', '{r:Grant:g1}', 'at'),
      keys.key('oidc', '{r:AccessToken:t1}', 'at'),
    ]);
  });
});
