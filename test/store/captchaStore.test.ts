import { MemoryCaptchaStore } from '../../src/captcha/MemoryCaptchaStore';
import { RedisCaptchaStore } from '../../src/captcha/RedisCaptchaStore';
import { describeCaptchaStoreContract } from './captchaStore.contract';
import { inMemory } from './support/storeFixture';
import { useTestRedis } from './support/testRedis';

describe('store: captcha answers', () => {
  const redis = useTestRedis();
  describeCaptchaStoreContract(
    'RedisCaptchaStore',
    redis.open((client, keys) => new RedisCaptchaStore(client, keys)),
  );
  describeCaptchaStoreContract(
    'MemoryCaptchaStore',
    inMemory((clock) => new MemoryCaptchaStore(clock)),
  );
});
