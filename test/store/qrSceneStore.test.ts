import { MemoryQrSceneStore } from '../../src/login/MemoryQrSceneStore';
import { RedisQrSceneStore } from '../../src/login/RedisQrSceneStore';
import { describeQrSceneStoreContract } from './qrSceneStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: the login QR scene pool', () => {
  const redis = useTestRedis();
  describeQrSceneStoreContract(
    'RedisQrSceneStore',
    redis.open((client, keys) => new RedisQrSceneStore(client, keys)),
  );
  describeQrSceneStoreContract(
    'MemoryQrSceneStore',
    inMemory(() => new MemoryQrSceneStore()),
  );
});
