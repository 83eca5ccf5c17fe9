import { MemoryOAuthCallbackClaims } from '../../src/h5/oauth/MemoryOAuthCallbackClaims';
import { RedisOAuthCallbackClaims } from '../../src/h5/oauth/RedisOAuthCallbackClaims';
import { describeOAuthCallbackClaimsContract } from './oauthCallbackClaims.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: OAuth callback claims', () => {
  const redis = useTestRedis();
  describeOAuthCallbackClaimsContract(
    'RedisOAuthCallbackClaims',
    redis.open((client, keys) => new RedisOAuthCallbackClaims(client, keys)),
  );
  describeOAuthCallbackClaimsContract(
    'MemoryOAuthCallbackClaims',
    inMemory((clock) => new MemoryOAuthCallbackClaims(clock)),
  );
});
