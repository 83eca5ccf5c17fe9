import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DataSource } from 'typeorm';
import type { Dependencies } from '../../../src/dependencies';
import { redisOf } from '../../support/testApp';

/**
 * The fuzz suites' seed and size. Fixed, so every run replays the same cases; FUZZ_SEED and
 * FUZZ_RUNS override them to explore further (a failure prints its seed and path: pass the same
 * seed to replay it).
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_251_129);
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

/** A run of 10,000 cases needs more than mocha's default 20 s on a loaded machine. */
export const FUZZ_TIMEOUT_MS = 15 * 60_000;

// Every key under the prefix with the SHA-1 of its DUMP, in one round trip.
const SNAPSHOT = `
local cursor = '0'
local out = {}
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local dump = redis.call('DUMP', key)
    out[#out + 1] = key
    out[#out + 1] = dump and redis.sha1hex(dump) or ''
  end
until cursor == '0'
return out`;

const DELETE_MATCHING = `
local cursor = '0'
local deleted = 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do deleted = deleted + redis.call('DEL', key) end
until cursor == '0'
return deleted`;

export type RedisSnapshot = Map<string, string>;

export interface RedisChange {
  added: string[];
  removed: string[];
  changed: string[];
}

const WRITE = /^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+[`"]?(\w+)[`"]?/i;

/**
 * Watches what one fuzz case changes: the SQL statements that write (typeorm's MySQL query runner,
 * patched for the run and restored after it), and Redis keys under the run's prefix with a digest of
 * each value. Row counts and checksums of accounts and wechat_bindings back this up at checkpoints.
 */
export class StateWatch {
  private statements: string[] = [];
  private restore?: () => void;

  constructor(private readonly deps: Dependencies) {}

  start(): void {
    const runner = this.deps.db.createQueryRunner();
    const proto = Object.getPrototypeOf(runner) as { query: (sql: string, ...rest: unknown[]) => Promise<unknown> };
    void runner.release();
    const original = proto.query;
    const statements = () => this.statements;
    proto.query = function query(this: unknown, sql: string, ...rest: unknown[]) {
      if (WRITE.test(sql)) statements().push(sql);
      return original.call(this, sql, ...rest);
    };
    this.restore = () => {
      proto.query = original;
    };
  }

  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** The writing statements since the last call, as `table: statement`. */
  takeWrites(): { table: string; sql: string }[] {
    const taken = this.statements.map((sql) => ({ table: WRITE.exec(sql)![1]!.toLowerCase(), sql }));
    this.statements = [];
    return taken;
  }

  async redis(): Promise<RedisSnapshot> {
    const prefix = this.deps.keys.prefix;
    const flat = (await redisOf(this.deps).eval(SNAPSHOT, { keys: [], arguments: [`${prefix}*`] })) as string[];
    const snapshot: RedisSnapshot = new Map();
    for (let i = 0; i < flat.length; i += 2) snapshot.set(flat[i]!.slice(prefix.length), flat[i + 1]!);
    return snapshot;
  }

  /** Deletes the keys under the prefix matching `pattern` (a Redis glob after the prefix). */
  async deleteMatching(pattern: string): Promise<void> {
    await redisOf(this.deps).eval(DELETE_MATCHING, { keys: [], arguments: [`${this.deps.keys.prefix}${pattern}`] });
  }

  /** Row counts and checksums of the tables no rejected input may change (the subscribed flag excluded). */
  async tables(): Promise<string> {
    return tableChecksums(this.deps.db);
  }
}

export async function tableChecksums(db: DataSource): Promise<string> {
  const rows = await db.query<
    {
      t: string;
      n: number | string;
      x: number | string;
    }[]
  >(`
    SELECT 'accounts' AS t, COUNT(*) AS n, COALESCE(BIT_XOR(CRC32(CONCAT_WS('|', id, login_name, password_hash, real_name, id_number, id_number_index, phone, phone_index, created_at))), 0) AS x FROM accounts
    UNION ALL
    SELECT 'wechat_bindings', COUNT(*), COALESCE(BIT_XOR(CRC32(CONCAT_WS('|', id, account_id, openid, IFNULL(unionid, ''), IFNULL(nickname, ''), bound_at))), 0) FROM wechat_bindings`);

  return rows.map((r) => `${r.t}:${r.n}:${r.x}`).join(' ');
}

/** Keys added, removed or changed between two snapshots, except those matching `allowed`. */
export function redisChange(before: RedisSnapshot, after: RedisSnapshot, allowed: RegExp[] = []): RedisChange {
  const ok = (key: string) => allowed.some((pattern) => pattern.test(key));
  const change: RedisChange = { added: [], removed: [], changed: [] };
  for (const [key, digest] of after) {
    if (ok(key)) continue;
    if (!before.has(key)) change.added.push(key);
    else if (before.get(key) !== digest) change.changed.push(key);
  }
  for (const key of before.keys()) if (!ok(key) && !after.has(key)) change.removed.push(key);
  return change;
}

export function assertNoRedisChange(change: RedisChange, what: string): void {
  assert.deepEqual(change, { added: [], removed: [], changed: [] }, `${what}: Redis changed outside the allowed keys`);
}

let gc: (() => void) | undefined;

/**
 * Heap in use after a full collection. mocha runs without --expose-gc (and .mocharc stays as it
 * is), so the flag is switched on at run time and `gc` taken from a fresh context.
 */
export function heapAfterGc(): number {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** A leak of ~13 KB a case shows as 128 MiB over 10,000 cases; the bound leaves room for the GC of a long suite on a loaded machine. */
export const HEAP_GROWTH_LIMIT_BYTES = 128 * 1024 * 1024;
