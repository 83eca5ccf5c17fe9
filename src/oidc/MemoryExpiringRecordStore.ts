import type { Clock } from '../clock/Clock';
import { ExpiringMap } from '../store/ExpiringMap';
import type { ExpiringRecord, ExpiringRecordStore } from './ExpiringRecordStore';

interface Group {
  members: Set<string>;
  expiresAt: number;
}

/** The records in this process (REDIS_URL=memory): one instance only, lifetimes by `clock`. */
export class MemoryExpiringRecordStore implements ExpiringRecordStore {
  private readonly records: ExpiringMap<ExpiringRecord>;
  private readonly groups: ExpiringMap<Group>;

  constructor(private readonly clock: Clock) {
    this.records = new ExpiringMap(clock);
    this.groups = new ExpiringMap(clock);
  }

  get(id: string): Promise<ExpiringRecord | null> {
    const record = this.records.get(id);
    // A copy: the caller may change what it reads without changing what is stored.
    return Promise.resolve(record ? structuredClone(record) : null);
  }

  upsert(id: string, payload: Record<string, unknown>, ttlSeconds: number, group?: string): Promise<void> {
    const ttlMs = ttlSeconds * 1000;
    this.records.set(id, { payload: structuredClone(payload), consumedAt: null }, ttlMs);
    if (group !== undefined) {
      const now = this.clock.now();
      const current = this.groups.get(group) ?? { members: new Set<string>(), expiresAt: now };
      current.members.add(id);
      // A group lives as long as its longest-lived member.
      current.expiresAt = Math.max(current.expiresAt, now + ttlMs);
      this.groups.set(group, current, current.expiresAt - now);
    }
    return Promise.resolve();
  }

  consume(id: string, atSeconds: number): Promise<void> {
    const record = this.records.get(id);
    if (record) this.records.replace(id, { ...record, consumedAt: atSeconds });
    return Promise.resolve();
  }

  destroy(id: string): Promise<void> {
    this.records.delete(id);
    return Promise.resolve();
  }

  groupMembers(group: string): Promise<string[]> {
    const members = [...(this.groups.get(group)?.members ?? [])];
    return Promise.resolve(members.filter((id) => this.records.get(id) !== undefined));
  }

  destroyGroup(group: string): Promise<void> {
    for (const id of this.groups.take(group)?.members ?? []) this.records.delete(id);
    return Promise.resolve();
  }
}
