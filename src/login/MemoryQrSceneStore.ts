import type { LeaseRules, PooledQrCode, QrSceneCounts, QrSceneStore, SceneLease } from './QrSceneStore';

type PooledScene =
  | { code: PooledQrCode; state: 'free'; leasableFrom: number }
  | { code: PooledQrCode; state: 'leased'; lease: SceneLease }
  | { code: PooledQrCode; state: 'retired' };

/**
 * The login QR pool in this process (REDIS_URL=memory): the Lua scripts of RedisQrSceneStore step
 * for step, each run without an await in between, so each is atomic.
 */
export class MemoryQrSceneStore implements QrSceneStore {
  private readonly scenes = new Map<string, PooledScene>();
  private readonly createCalls = new Map<string, number>();

  lease(lease: SceneLease, rules: LeaseRules): Promise<PooledQrCode | null> {
    this.settle(rules);
    let longestIdle: { scene: string; code: PooledQrCode; leasableFrom: number } | undefined;
    for (const [scene, entry] of this.scenes) {
      if (entry.state !== 'free' || entry.leasableFrom > rules.now) continue;
      if (!longestIdle || entry.leasableFrom < longestIdle.leasableFrom)
        longestIdle = { scene, code: entry.code, leasableFrom: entry.leasableFrom };
    }
    if (!longestIdle) return Promise.resolve(null);
    this.scenes.set(longestIdle.scene, { code: longestIdle.code, state: 'leased', lease: { ...lease } });
    return Promise.resolve({ ...longestIdle.code });
  }

  addLeased(code: PooledQrCode, lease: SceneLease): Promise<void> {
    this.scenes.set(code.scene, { code: { ...code }, state: 'leased', lease: { ...lease } });
    return Promise.resolve();
  }

  addIdle(code: PooledQrCode, now: number): Promise<void> {
    this.scenes.set(code.scene, { code: { ...code }, state: 'free', leasableFrom: now });
    return Promise.resolve();
  }

  release(scene: string, ticketKey: string, rules: LeaseRules): Promise<void> {
    this.settle(rules);
    const entry = this.scenes.get(scene);
    if (entry?.state === 'leased' && entry.lease.ticketKey === ticketKey)
      this.scenes.set(scene, { code: entry.code, state: 'free', leasableFrom: rules.now + rules.quietMs });
    return Promise.resolve();
  }

  resolve(scene: string, scannedAt: number, rules: LeaseRules): Promise<string | null> {
    this.settle(rules);
    const entry = this.scenes.get(scene);
    if (entry?.state === 'leased') {
      const { startedAt, ticketKey } = entry.lease;
      return Promise.resolve(scannedAt >= startedAt - (startedAt % 1000) ? ticketKey : null);
    }
    if (entry?.state === 'free') entry.leasableFrom = Math.max(entry.leasableFrom, rules.now + rules.quietMs);
    return Promise.resolve(null);
  }

  counts(rules: LeaseRules): Promise<QrSceneCounts> {
    this.settle(rules);
    const counts: QrSceneCounts = { idle: 0, quiet: 0, leased: 0, retired: 0 };
    for (const entry of this.scenes.values()) {
      if (entry.state === 'free') counts[entry.leasableFrom <= rules.now ? 'idle' : 'quiet'] += 1;
      else counts[entry.state] += 1;
    }
    return Promise.resolve(counts);
  }

  countCreateCall(day: string): Promise<number> {
    const count = (this.createCalls.get(day) ?? 0) + 1;
    // Only today's count is ever read: older days go.
    this.createCalls.clear();
    this.createCalls.set(day, count);
    return Promise.resolve(count);
  }

  createCallsOn(day: string): Promise<number> {
    return Promise.resolve(this.createCalls.get(day) ?? 0);
  }

  /** Ends the leases whose time is up, retires free scenes that expire too soon, forgets expired ones. */
  private settle(rules: LeaseRules): void {
    for (const [scene, entry] of this.scenes) {
      if (entry.state === 'leased' && entry.lease.endsAt < rules.now) {
        this.scenes.set(scene, { code: entry.code, state: 'free', leasableFrom: entry.lease.endsAt + rules.quietMs });
      }
      const current = this.scenes.get(scene)!;
      if (current.state === 'free' && current.code.expiresAt <= rules.usableUntil)
        this.scenes.set(scene, { code: current.code, state: 'retired' });
      if (current.state === 'retired' && current.code.expiresAt <= rules.now) this.scenes.delete(scene);
    }
  }
}
