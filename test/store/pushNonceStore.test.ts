import { MemoryPushNonceStore } from '../../src/wechat/MemoryPushNonceStore';
import { RedisPushNonceStore } from '../../src/wechat/RedisPushNonceStore';
import { describePushNonceStoreContract } from './pushNonceStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: push (timestamp, nonce) pairs', () => {
  const redis = useTestRedis();
  describePushNonceStoreContract(
    'RedisPushNonceStore',
    redis.open((client, keys) => new RedisPushNonceStore(client, keys)),
  );
  describePushNonceStoreContract(
    'MemoryPushNonceStore',
    inMemory((clock) => new MemoryPushNonceStore(clock)),
  );
});
