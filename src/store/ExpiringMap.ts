import type { Clock } from '../clock/Clock';

interface Entry<V> {
  value: V;
  /** Clock time (ms) from which the entry is gone. */
  expiresAt: number;
}

const FIRST_SWEEP_AT = 1024;

/**
 * A Map whose entries expire by the injected clock, the in-memory counterpart of Redis keys with a
 * TTL: an expired entry is never returned, and expired entries are swept out as the map grows
 * (amortised, no timer), so a long-running demo does not keep every key it ever wrote. With
 * `maxEntries`, the entries written longest ago make room once live ones reach it.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private sweepAt = FIRST_SWEEP_AT;

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = Number.POSITIVE_INFINITY,
  ) {}

  get(key: string): V | undefined {
    return this.live(key)?.value;
  }

  /** Stores `value` for ttlMs (SET … PX). */
  set(key: string, value: V, ttlMs: number): void {
    // Deleted first, so the Map's order stays the order of writing (the eviction order).
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.clock.now() + ttlMs });
    if (this.entries.size >= this.sweepAt) this.sweep();
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  /** Stores `value` only when `key` is absent (SET NX); true when it did. */
  setIfAbsent(key: string, value: V, ttlMs: number): boolean {
    if (this.live(key)) return false;
    this.set(key, value, ttlMs);
    return true;
  }

  /** Replaces the value of a live entry, keeping its expiry (SET XX KEEPTTL); true when it did. */
  replace(key: string, value: V): boolean {
    const entry = this.live(key);
    if (!entry) return false;
    entry.value = value;
    return true;
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  /** Removes and returns the value in one step (GETDEL). */
  take(key: string): V | undefined {
    const entry = this.live(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    return entry.value;
  }

  clear(): void {
    this.entries.clear();
    this.sweepAt = FIRST_SWEEP_AT;
  }

  /** Entries held, counting expired ones not swept out yet. */
  get size(): number {
    return this.entries.size;
  }

  private live(key: string): Entry<V> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.clock.now() >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) if (now >= entry.expiresAt) this.entries.delete(key);
    this.sweepAt = Math.max(FIRST_SWEEP_AT, this.entries.size * 2);
  }
}
