/** How failed logins are paced, as the store applies it atomically (LoginThrottle builds it from config). */
export interface FailurePacing {
  /**
   * `clientWaitsMs[n]`: how long after its last failure a client with n failures on an identifier
   * waits before its next try; counts past the end use the last entry.
   */
  clientWaitsMs: readonly number[];
  /** Failures on the identifier, from every client together, from which a failing client waits at least ceilingWaitMs. */
  ceiling: number;
  ceilingWaitMs: number;
  /** A client's failures are forgotten this long after its last one, the identifier's after the last of anyone's. */
  forgetMs: number;
}

export type FailureClaim =
  /** The try may go on; it is already counted as a failure (`clientFailures` of this client, this one included). */
  { allowed: true; clientFailures: number } | { allowed: false; retryAfterMs: number };

/**
 * Failed logins per typed identifier (a keyed digest, never the identifier itself), per client and
 * in total, shared by every instance. A try is claimed before the password is checked, so
 * concurrent tries cannot slip past a wait: each claim sees the ones before it.
 */
export interface LoginFailureStore {
  /** Refuses the try while this client must still wait; else counts it as a failure and lets it go on. */
  claim(identifier: string, client: string, pacing: FailurePacing): Promise<FailureClaim>;
  /** The claimed try was the right password: it is not a failure, and this client's count starts afresh. */
  succeeded(identifier: string, client: string): Promise<void>;
  /** Forgets every failure on the identifier (a password reset). */
  forget(identifier: string): Promise<void>;
}

/** What a claim decides for a client with `clientFailures` failures, the last at `lastFailureMs`; shared by the implementations in TypeScript. */
export function waitOf(
  pacing: FailurePacing,
  tallies: { clientFailures: number; lastFailureMs: number; totalFailures: number },
  nowMs: number,
): number {
  const { clientFailures, lastFailureMs, totalFailures } = tallies;
  if (clientFailures === 0) return 0;
  const waits = pacing.clientWaitsMs;
  let wait = waits[Math.min(clientFailures, waits.length - 1)] ?? 0;
  if (totalFailures >= pacing.ceiling) wait = Math.max(wait, pacing.ceilingWaitMs);
  return Math.max(0, lastFailureMs + wait - nowMs);
}
