import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import type { CaptchaStore, StoredCaptcha } from './CaptchaStore';

export class RedisCaptchaStore implements CaptchaStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async put(scope: string, captcha: StoredCaptcha, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.keys.key('captcha', scope), JSON.stringify(captcha), {
      expiration: { type: 'EX', value: ttlSeconds },
    });
  }

  async take(scope: string): Promise<StoredCaptcha | null> {
    // GETDEL: two concurrent guesses cannot both read the answer.
    const value = await this.redis.getDel(this.keys.key('captcha', scope));
    return value === null ? null : (JSON.parse(value) as StoredCaptcha);
  }
}
