import type { Clock } from '../clock/Clock';
import { ExpiringMap } from '../store/ExpiringMap';
import type { NonceSighting, PushNonceStore } from './PushNonceStore';

/** The (timestamp, nonce) pairs in this process (REDIS_URL=memory, the one instance of the demo). */
export class MemoryPushNonceStore implements PushNonceStore {
  private readonly pairs: ExpiringMap<string>;

  constructor(clock: Clock) {
    this.pairs = new ExpiringMap(clock);
  }

  sight(pair: string, bodyDigest: string, ttlSeconds: number): Promise<NonceSighting> {
    if (this.pairs.setIfAbsent(pair, bodyDigest, ttlSeconds * 1000)) return Promise.resolve('new');
    return Promise.resolve(this.pairs.get(pair) === bodyDigest ? 'same' : 'different');
  }
}
