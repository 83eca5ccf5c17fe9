import { MemoryWebOAuthTokenStore } from '../../src/h5/oauth/MemoryWebOAuthTokenStore';
import { RedisWebOAuthTokenStore } from '../../src/h5/oauth/RedisWebOAuthTokenStore';
import { describeWebOAuthTokenStoreContract } from './webOAuthTokenStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: web OAuth tokens', () => {
  const redis = useTestRedis();
  describeWebOAuthTokenStoreContract(
    'RedisWebOAuthTokenStore',
    redis.open((client, keys) => new RedisWebOAuthTokenStore(client, keys)),
  );
  describeWebOAuthTokenStoreContract(
    'MemoryWebOAuthTokenStore',
    inMemory((clock) => new MemoryWebOAuthTokenStore(clock)),
  );
});
