/** What every cookie session keeps, whatever else its use adds. */
export interface SessionData {
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

/** Sessions by id, each expiring after ttlSeconds unless written again. */
export interface SessionStore<T extends SessionData> {
  get(id: string): Promise<T | null>;
  set(id: string, data: T, ttlSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
}
