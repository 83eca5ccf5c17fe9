import type { Clock } from '../clock/Clock';
import { ExpiringMap } from '../store/ExpiringMap';
import type { CaptchaStore, StoredCaptcha } from './CaptchaStore';

/** Captcha answers in this process (REDIS_URL=memory); `take` is one synchronous step, so single use holds. */
export class MemoryCaptchaStore implements CaptchaStore {
  private readonly answers: ExpiringMap<StoredCaptcha>;

  constructor(clock: Clock) {
    this.answers = new ExpiringMap(clock);
  }

  put(scope: string, captcha: StoredCaptcha, ttlSeconds: number): Promise<void> {
    this.answers.set(scope, { ...captcha }, ttlSeconds * 1000);
    return Promise.resolve();
  }

  take(scope: string): Promise<StoredCaptcha | null> {
    return Promise.resolve(this.answers.take(scope) ?? null);
  }
}
