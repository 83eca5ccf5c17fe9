export interface StoredAccessToken {
  token: string;
  /** When WeChat stops accepting it (ms since epoch). */
  expiresAt: number;
  /** When an instance should fetch the next one (ms since epoch). */
  refreshAt: number;
}

/**
 * The one access token all instances share, and the locks that make one instance fetch it at a
 * time (WeChat's 中控 design): the store is the central control point.
 */
export interface AccessTokenStore {
  get(): Promise<StoredAccessToken | null>;
  /** Stores the token for ttlMs (until it expires by the caller's clock). */
  set(token: StoredAccessToken, ttlMs: number): Promise<void>;
  /** Takes the fetch lock for ttlMs; returns an owner id, or null when another instance holds it. */
  lock(ttlMs: number): Promise<string | null>;
  unlock(owner: string): Promise<void>;
  /**
   * Takes one of WeChat's forced refreshes (≤ 20 a day, ≥ 30 s apart); false when none is left now.
   */
  takeForcedRefresh(nowMs: number): Promise<boolean>;
}
