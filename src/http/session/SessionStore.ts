/** What every cookie session keeps, whatever else its use adds. */
export interface SessionData {
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

/**
 * Which account a session acts for, if any (the portal's logged-in taxpayer, the H5 bind step's
 * account): the store indexes sessions by it so a password reset can end them all.
 */
export type SessionAccount<T extends SessionData> = (data: T) => string | undefined;

/** Sessions by id, each expiring after ttlSeconds unless written again. */
export interface SessionStore<T extends SessionData> {
  get(id: string): Promise<T | null>;
  set(id: string, data: T, ttlSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
  /** Ends every session written while it acted for `accountId`; answers how many were still there. */
  destroyForAccount(accountId: string): Promise<number>;
}
