import type { Clock } from '../../clock/Clock';
import { ExpiringMap } from '../../store/ExpiringMap';
import {
  OAUTH_CODE_CLAIM_TTL_SECONDS,
  type CallbackClaim,
  type CallbackOutcome,
  type OAuthCallbackClaims,
} from './OAuthCallbackClaims';

/** Claims in this process (REDIS_URL=memory); a claim holds null until its outcome is known. */
export class MemoryOAuthCallbackClaims implements OAuthCallbackClaims {
  private readonly claims: ExpiringMap<CallbackOutcome | null>;

  constructor(clock: Clock) {
    this.claims = new ExpiringMap(clock);
  }

  claim(code: string): Promise<CallbackClaim> {
    if (this.claims.setIfAbsent(code, null, OAUTH_CODE_CLAIM_TTL_SECONDS * 1000))
      return Promise.resolve({ first: true });
    const outcome = this.claims.get(code);
    return Promise.resolve({ first: false, outcome: outcome ? { ...outcome } : null });
  }

  outcome(code: string): Promise<CallbackOutcome | null> {
    const outcome = this.claims.get(code);
    return Promise.resolve(outcome ? { ...outcome } : null);
  }

  complete(code: string, outcome: CallbackOutcome): Promise<void> {
    this.claims.replace(code, { ...outcome });
    return Promise.resolve();
  }

  release(code: string): Promise<void> {
    this.claims.delete(code);
    return Promise.resolve();
  }
}
