/** A captcha answer waiting for its one guess. */
export interface StoredCaptcha {
  /** Normalised (upper-case) answer. */
  answer: string;
  /** Clock time (ms) after which the answer no longer counts. */
  expiresAt: number;
}

/** Captcha answers by opaque scope (e.g. `<sessionId>:bind`), one per scope. */
export interface CaptchaStore {
  /** Stores the answer for `scope`, replacing any earlier one; `ttlSeconds` is a safety net for cleanup. */
  put(scope: string, captcha: StoredCaptcha, ttlSeconds: number): Promise<void>;
  /** Removes and returns the answer for `scope` in one step, so it can be guessed only once. */
  take(scope: string): Promise<StoredCaptcha | null>;
}
