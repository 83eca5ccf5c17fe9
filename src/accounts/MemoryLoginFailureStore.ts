import type { Clock } from '../clock/Clock';
import { ExpiringMap } from '../store/ExpiringMap';
import { waitOf, type FailureClaim, type FailurePacing, type LoginFailureStore } from './LoginFailureStore';

interface ClientTally {
  failures: number;
  lastFailureMs: number;
}

interface IdentifierTally {
  total: number;
  clients: Map<string, ClientTally>;
}

/** Failed-login counts in this process (REDIS_URL=memory); an identifier lives until forgetMs after its last failure. */
export class MemoryLoginFailureStore implements LoginFailureStore {
  private readonly tallies: ExpiringMap<IdentifierTally>;

  constructor(private readonly clock: Clock) {
    this.tallies = new ExpiringMap(clock);
  }

  claim(identifier: string, client: string, pacing: FailurePacing): Promise<FailureClaim> {
    const now = this.clock.now();
    const tally = this.tallies.get(identifier) ?? { total: 0, clients: new Map<string, ClientTally>() };
    // Clients quiet for forgetMs are forgotten, so one identifier tried from many addresses stays small.
    for (const [name, counted] of tally.clients)
      if (counted.lastFailureMs + pacing.forgetMs <= now) tally.clients.delete(name);
    const own = tally.clients.get(client) ?? { failures: 0, lastFailureMs: 0 };
    const retryAfterMs = waitOf(
      pacing,
      { clientFailures: own.failures, lastFailureMs: own.lastFailureMs, totalFailures: tally.total },
      now,
    );
    if (retryAfterMs > 0) return Promise.resolve({ allowed: false, retryAfterMs });
    const counted = { failures: own.failures + 1, lastFailureMs: now };
    tally.clients.set(client, counted);
    tally.total += 1;
    this.tallies.set(identifier, tally, pacing.forgetMs);
    return Promise.resolve({ allowed: true, clientFailures: counted.failures });
  }

  succeeded(identifier: string, client: string): Promise<void> {
    const tally = this.tallies.get(identifier);
    if (tally) {
      tally.clients.delete(client);
      tally.total = Math.max(0, tally.total - 1);
    }
    return Promise.resolve();
  }

  forget(identifier: string): Promise<void> {
    this.tallies.delete(identifier);
    return Promise.resolve();
  }
}
