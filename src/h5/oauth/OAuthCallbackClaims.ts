import { createHash } from 'node:crypto';

/** How a first OAuth callback ended, so a repeat of it (same code) ends on the same page. */
export interface CallbackOutcome {
  /** sha256 of the browser the first callback came from: the `state` of its OAuth state cookie. */
  fromSession: string;
  /** The session it created (the session is renewed once the openid is known). */
  sessionId: string;
  returnTo: string;
}

export type CallbackClaim = { first: true } | { first: false; outcome: CallbackOutcome | null };

/** How long a claim is kept: an OAuth code lives 5 minutes. */
export const OAUTH_CODE_CLAIM_TTL_SECONDS = 300;

/**
 * WeChat sometimes opens the OAuth callback twice with the same code; the second exchange gets
 * 40163. Each code is claimed here first, and the outcome kept for the repeat.
 */
export interface OAuthCallbackClaims {
  /** The first claim of a code wins; a later one learns the first one's outcome once it is known. */
  claim(code: string): Promise<CallbackClaim>;
  outcome(code: string): Promise<CallbackOutcome | null>;
  /** Records the outcome of a code this caller claimed first (nothing when the claim is gone). */
  complete(code: string, outcome: CallbackOutcome): Promise<void>;
  /** A first callback that failed leaves nothing behind that a repeat could follow. */
  release(code: string): Promise<void>;
}

export const sessionFingerprint = (sessionId: string | null): string =>
  createHash('sha256')
    .update(sessionId ?? '')
    .digest('hex');
