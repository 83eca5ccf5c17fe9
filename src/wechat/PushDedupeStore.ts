/** Outcome of claiming a push: the first delivery handles it; a retry gets the stored reply, if any yet. */
export type DedupeClaim = { first: true } | { first: false; reply: string | null };

/**
 * Remembers pushes being handled or handled recently, shared by every instance, so WeChat's
 * retries (same body up to 3 more times within ~20 s) cause one state change and one reply.
 */
export interface PushDedupeStore {
  claim(key: string, ttlSeconds: number): Promise<DedupeClaim>;
  /** Stores the reply document for retries that arrive later. */
  complete(key: string, reply: string): Promise<void>;
  /** Forgets a claim whose handling failed, so a retry can try again. */
  release(key: string): Promise<void>;
}
