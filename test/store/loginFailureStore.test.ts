import { MemoryLoginFailureStore } from '../../src/accounts/MemoryLoginFailureStore';
import { RedisLoginFailureStore } from '../../src/accounts/RedisLoginFailureStore';
import { describeLoginFailureStoreContract } from './loginFailureStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: failed logins per identifier and client', () => {
  const redis = useTestRedis();
  describeLoginFailureStoreContract(
    'RedisLoginFailureStore',
    redis.open((client, keys, clock) => new RedisLoginFailureStore(client, keys, clock)),
  );
  describeLoginFailureStoreContract(
    'MemoryLoginFailureStore',
    inMemory((clock) => new MemoryLoginFailureStore(clock)),
  );
});
