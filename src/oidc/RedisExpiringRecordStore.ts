import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import { RedisScript } from '../store/RedisScript';
import type { ExpiringRecord, ExpiringRecordStore } from './ExpiringRecordStore';

// Marks consumption only on a record that still exists: HSET alone would recreate an expired one.
const CONSUME = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'consumed', ARGV[1])
end
return 0
`);

/**
 * The records in Redis, every key under the configured prefix. A grouped record lives under its
 * group's hash tag, beside the set listing the group's members, so destroying a group is one
 * multi-key DEL in one slot (Redis Cluster). Its id then only points there: a reader knows the id,
 * not the group.
 */
export class RedisExpiringRecordStore implements ExpiringRecordStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly namespace: string,
  ) {}

  async get(id: string): Promise<ExpiringRecord | null> {
    const fields = await this.redis.hGetAll(await this.recordKey(id));
    if (fields.payload === undefined) return null;
    return {
      payload: JSON.parse(fields.payload) as Record<string, unknown>,
      consumedAt: fields.consumed === undefined ? null : Number(fields.consumed),
    };
  }

  async upsert(id: string, payload: Record<string, unknown>, ttlSeconds: number, group?: string): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    if (group === undefined) {
      await this.redis
        .multi()
        .del(this.ownKey(id))
        .hSet(this.ownKey(id), 'payload', JSON.stringify(payload))
        .expire(this.ownKey(id), ttl)
        .exec();
      return;
    }
    const key = this.groupedKey(group, id);
    // The pointer first: a reader that finds it before the record sees "no record", never a stale one.
    await this.redis.set(this.pointerKey(id), key, { EX: ttl });
    await this.redis
      .multi()
      .del(key)
      .hSet(key, 'payload', JSON.stringify(payload))
      .expire(key, ttl)
      .sAdd(this.membersKey(group), key)
      // The member set outlives its longest-lived member: set when new, lengthened after.
      .expire(this.membersKey(group), ttl, 'NX')
      .expire(this.membersKey(group), ttl, 'GT')
      .exec();
  }

  async consume(id: string, atSeconds: number): Promise<void> {
    await CONSUME.run(this.redis, [await this.recordKey(id)], [String(atSeconds)]);
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(await this.recordKey(id));
    await this.redis.del(this.pointerKey(id));
  }

  async groupMembers(group: string): Promise<string[]> {
    const prefix = `${this.membersKey(group)}:`;
    const members = await this.redis.sMembers(this.membersKey(group));
    const live = await Promise.all(members.map(async (key) => ((await this.redis.exists(key)) ? key : null)));
    return live.filter((key): key is string => key !== null).map((key) => key.slice(prefix.length));
  }

  async destroyGroup(group: string): Promise<void> {
    const members = await this.redis.sMembers(this.membersKey(group));
    await this.redis.del([...members, this.membersKey(group)]);
  }

  private async recordKey(id: string): Promise<string> {
    return (await this.redis.get(this.pointerKey(id))) ?? this.ownKey(id);
  }

  private ownKey(id: string): string {
    return this.keys.key(this.namespace, `{r:${id}}`);
  }

  private pointerKey(id: string): string {
    return this.keys.key(this.namespace, `{r:${id}}`, 'at');
  }

  private groupedKey(group: string, id: string): string {
    return this.keys.key(this.namespace, `{g:${group}}`, id);
  }

  private membersKey(group: string): string {
    return this.keys.key(this.namespace, `{g:${group}}`);
  }
}
