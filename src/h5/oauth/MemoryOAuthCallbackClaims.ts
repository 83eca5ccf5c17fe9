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

  async claim(code: string): Promise<CallbackClaim> {
    if (this.claims.setIfAbsent(code, null, OAUTH_CODE_CLAIM_TTL_SECONDS * 1000)) return { first: true };
    const outcome = this.claims.get(code);
    return { first: false, outcome: outcome ? { ...outcome } : null };
  }

  async outcome(code: string): Promise<CallbackOutcome | null> {
    const outcome = this.claims.get(code);
    return outcome ? { ...outcome } : null;
  }

  async complete(code: string, outcome: CallbackOutcome): Promise<void> {
    this.claims.replace(code, { ...outcome });
  }

  async release(code: string): Promise<void> {
    this.claims.delete(code);
  }
}
