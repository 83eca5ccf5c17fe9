import { MemoryRateLimiter } from '../../src/security/MemoryRateLimiter';
import { RedisRateLimiter } from '../../src/security/RedisRateLimiter';
import { describeRateLimiterContract } from './rateLimiter.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: rate limits', () => {
  const redis = useTestRedis();
  describeRateLimiterContract(
    'RedisRateLimiter',
    redis.open((client, keys, clock) => new RedisRateLimiter(client, keys, clock)),
  );
  describeRateLimiterContract(
    'MemoryRateLimiter',
    inMemory((clock) => new MemoryRateLimiter(clock)),
  );
});
