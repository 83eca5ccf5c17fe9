import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock/Clock';
import { MemoryAccessTokenStore } from '../../src/wechat/api/MemoryAccessTokenStore';
import { RedisAccessTokenStore } from '../../src/wechat/api/RedisAccessTokenStore';
import { describeAccessTokenStoreContract } from './accessTokenStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: WeChat access token', () => {
  const redis = useTestRedis();
  describeAccessTokenStoreContract(
    'RedisAccessTokenStore',
    redis.open((client, keys) => new RedisAccessTokenStore(client, keys)),
  );
  describeAccessTokenStoreContract(
    'MemoryAccessTokenStore',
    inMemory((clock) => new MemoryAccessTokenStore(clock)),
  );

  it('MemoryAccessTokenStore takes no forced refresh when its day allows none (the menu CLI beside a server)', async () => {
    const clock = new ManualClock();
    const store = new MemoryAccessTokenStore(clock, { forcedRefreshesPerDay: 0 });
    assert.equal(await store.takeForcedRefresh(clock.now()), false);
    clock.advance(86_400_000);
    assert.equal(await store.takeForcedRefresh(clock.now()), false);
  });
});
