import { MemoryPushDedupeStore } from '../../src/wechat/MemoryPushDedupeStore';
import { RedisPushDedupeStore } from '../../src/wechat/RedisPushDedupeStore';
import { describePushDedupeStoreContract } from './pushDedupeStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: push dedupe', () => {
  const redis = useTestRedis();
  describePushDedupeStoreContract(
    'RedisPushDedupeStore',
    redis.open((client, keys) => new RedisPushDedupeStore(client, keys)),
  );
  describePushDedupeStoreContract(
    'MemoryPushDedupeStore',
    inMemory((clock) => new MemoryPushDedupeStore(clock)),
  );
});
