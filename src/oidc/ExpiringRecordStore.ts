/** A stored record as read back: its payload and, once consumed, when (epoch seconds). */
export interface ExpiringRecord {
  payload: Record<string, unknown>;
  consumedAt: number | null;
}

/**
 * Short-lived records by id, each with its own lifetime, optionally in a group that is destroyed at
 * once (the shape of oidc-provider's adapter, without its model names): in Redis so any instance
 * serves any step, or in this process for the embedded demo.
 */
export interface ExpiringRecordStore {
  get(id: string): Promise<ExpiringRecord | null>;
  /** Writes (or rewrites, clearing any consumption) the record for ttlSeconds. */
  upsert(id: string, payload: Record<string, unknown>, ttlSeconds: number, group?: string): Promise<void>;
  /** Marks a live record consumed at `atSeconds`; nothing when it is gone. */
  consume(id: string, atSeconds: number): Promise<void>;
  destroy(id: string): Promise<void>;
  /** The ids of the live records upserted with this group. */
  groupMembers(group: string): Promise<string[]>;
  /** Destroys every record upserted with this group. */
  destroyGroup(group: string): Promise<void>;
}
