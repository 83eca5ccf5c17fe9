import { MemorySmsCodeStore } from '../../src/sms/MemorySmsCodeStore';
import { RedisSmsCodeStore } from '../../src/sms/RedisSmsCodeStore';
import { describeSmsCodeStoreContract } from './smsCodeStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: SMS codes', () => {
  const redis = useTestRedis();
  describeSmsCodeStoreContract(
    'RedisSmsCodeStore',
    redis.open((client, keys) => new RedisSmsCodeStore(client, keys)),
  );
  describeSmsCodeStoreContract(
    'MemorySmsCodeStore',
    inMemory((clock) => new MemorySmsCodeStore(clock)),
  );
});
