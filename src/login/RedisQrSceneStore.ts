import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import { RedisScript } from '../store/RedisScript';
import type { LeaseRules, PooledQrCode, QrSceneCounts, QrSceneStore, SceneLease } from './QrSceneStore';

// KEYS: 1 free (zset: scene → leasable from, ms; idle when ≤ now, quiet after), 2 expiry (zset: free
// scene → its QR's WeChat expiry), 3 leased (zset: scene → lease end), 4 codes (hash: scene →
// "<expiresAt> <qrTicket> <qrUrl>", followed by " <ticketKey> <startedAt>" while it is leased: one
// field a scene, since at a peak every live ticket holds a scene of its own and a second hash field
// costs about 100 bytes), 5 retired (zset: scene → its QR's WeChat expiry). ARGV 1-3: now, quietMs,
// usableUntil. All five keys carry the hash tag {qrpool}, so every script runs on one Redis Cluster
// slot. Every key lives a month past the pool's last change: longer than any QR code it can hold.
const SETTLE = `
local now, quiet, usable = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local CODE = '^(%d+ %S+ %S+)'
-- The scene's lease, if any: ticketKey, startedAt.
local function leaseOf(scene)
  local stored = redis.call('HGET', KEYS[4], scene)
  if not stored then return nil end
  return string.match(stored, '^%d+ %S+ %S+ (%S+) (%d+)$')
end
-- Ends the scene's lease (if any) and rests it until untilMs.
local function rest(scene, untilMs)
  local code = string.match(redis.call('HGET', KEYS[4], scene), CODE)
  redis.call('HSET', KEYS[4], scene, code)
  redis.call('ZREM', KEYS[3], scene)
  redis.call('ZADD', KEYS[1], untilMs, scene)
  redis.call('ZADD', KEYS[2], string.match(code, '^(%d+)'), scene)
end
local function retire(scene, expiresAt)
  redis.call('ZREM', KEYS[1], scene)
  redis.call('ZREM', KEYS[2], scene)
  redis.call('ZADD', KEYS[5], expiresAt, scene)
end
local function settle()
  local ended = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1], 'WITHSCORES', 'LIMIT', 0, 100)
  for i = 1, #ended, 2 do rest(ended[i], tonumber(ended[i + 1]) + quiet) end
  local dying = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'WITHSCORES', 'LIMIT', 0, 100)
  for i = 1, #dying, 2 do retire(dying[i], dying[i + 1]) end
  local gone = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', ARGV[1], 'LIMIT', 0, 100)
  for _, scene in ipairs(gone) do
    redis.call('ZREM', KEYS[5], scene)
    redis.call('HDEL', KEYS[4], scene)
  end
end
settle()
`;

const KEEP_MS = 31 * 86_400_000;
const script = (body: string) =>
  new RedisScript(`${SETTLE}
local answer = (function()
${body}
end)()
for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ${KEEP_MS}) end
return answer`);

// ARGV 4-6: ticketKey, startedAt, endsAt. Answers {scene, code} or nil.
const LEASE = script(`
for _ = 1, 8 do
  local scene = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)[1]
  if not scene then return false end
  local expiresAt = redis.call('ZSCORE', KEYS[2], scene)
  if tonumber(expiresAt) > usable then
    redis.call('ZREM', KEYS[1], scene)
    redis.call('ZREM', KEYS[2], scene)
    redis.call('ZADD', KEYS[3], ARGV[6], scene)
    local code = redis.call('HGET', KEYS[4], scene)
    redis.call('HSET', KEYS[4], scene, code .. ' ' .. ARGV[4] .. ' ' .. ARGV[5])
    return {scene, code}
  end
  retire(scene, expiresAt)
end
return false`);

// ARGV 4-5: scene, ticketKey.
const RELEASE = script(`
local ticketKey = leaseOf(ARGV[4])
if ticketKey == ARGV[5] then rest(ARGV[4], now + quiet) end
return 0`);

// ARGV 4-5: scene, scannedAt. A scan older than the lease's start (to the second, the resolution of
// a push's CreateTime) was aimed at an earlier lease.
const RESOLVE = script(`
local ticketKey, startedAt = leaseOf(ARGV[4])
if ticketKey then
  startedAt = tonumber(startedAt)
  if tonumber(ARGV[5]) >= startedAt - startedAt % 1000 then return ticketKey end
  return false
end
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then redis.call('ZADD', KEYS[1], 'GT', now + quiet, ARGV[4]) end
return false`);

const COUNTS = script(`
return {
  redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1]),
  redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf'),
  redis.call('ZCARD', KEYS[3]),
  redis.call('ZCARD', KEYS[5]),
}`);

const DAY_SECONDS = 86_400;

/** The login QR pool in Redis: five keys in one hash slot, every change one Lua script. */
export class RedisQrSceneStore implements QrSceneStore {
  private readonly keyList: string[];

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.keyList = ['free', 'expiry', 'leased', 'codes', 'retired'].map((name) => this.key(name));
  }

  private key(name: string): string {
    return this.keys.key('qrpool', '{qrpool}', name);
  }

  private run(script: RedisScript, rules: LeaseRules, args: string[]): Promise<unknown> {
    return script.run(this.redis, this.keyList, [
      String(rules.now),
      String(rules.quietMs),
      String(rules.usableUntil),
      ...args,
    ]);
  }

  async lease(lease: SceneLease, rules: LeaseRules): Promise<PooledQrCode | null> {
    const answer = (await this.run(LEASE, rules, [lease.ticketKey, String(lease.startedAt), String(lease.endsAt)])) as
      [string, string] | null;
    return answer ? parseCode(answer[0], answer[1]) : null;
  }

  async addLeased(code: PooledQrCode, lease: SceneLease): Promise<void> {
    await this.redis
      .multi()
      .hSet(this.key('codes'), code.scene, `${formatCode(code)} ${lease.ticketKey} ${lease.startedAt}`)
      .zAdd(this.key('leased'), { score: lease.endsAt, value: code.scene })
      .pExpire(this.key('codes'), KEEP_MS)
      .pExpire(this.key('leased'), KEEP_MS)
      .exec();
  }

  async addIdle(code: PooledQrCode, now: number): Promise<void> {
    await this.redis
      .multi()
      .hSet(this.key('codes'), code.scene, formatCode(code))
      .zAdd(this.key('free'), { score: now, value: code.scene })
      .zAdd(this.key('expiry'), { score: code.expiresAt, value: code.scene })
      .pExpire(this.key('codes'), KEEP_MS)
      .pExpire(this.key('free'), KEEP_MS)
      .pExpire(this.key('expiry'), KEEP_MS)
      .exec();
  }

  async release(scene: string, ticketKey: string, rules: LeaseRules): Promise<void> {
    await this.run(RELEASE, rules, [scene, ticketKey]);
  }

  async resolve(scene: string, scannedAt: number, rules: LeaseRules): Promise<string | null> {
    return ((await this.run(RESOLVE, rules, [scene, String(scannedAt)])) as string | null) ?? null;
  }

  async counts(rules: LeaseRules): Promise<QrSceneCounts> {
    const [idle, quiet, leased, retired] = (await this.run(COUNTS, rules, [])) as number[];
    return { idle: idle!, quiet: quiet!, leased: leased!, retired: retired! };
  }

  async countCreateCall(day: string): Promise<number> {
    const key = this.key(`calls:${day}`);
    const [count] = await this.redis
      .multi()
      .incr(key)
      .expire(key, 2 * DAY_SECONDS)
      .exec();
    return Number(count);
  }

  async createCallsOn(day: string): Promise<number> {
    return Number((await this.redis.get(this.key(`calls:${day}`))) ?? 0);
  }
}

function formatCode(code: PooledQrCode): string {
  return `${code.expiresAt} ${code.qrTicket} ${code.qrUrl}`;
}

function parseCode(scene: string, stored: string): PooledQrCode {
  const [expiresAt, qrTicket, qrUrl] = stored.split(' ') as [string, string, string];
  return { scene, qrTicket, qrUrl, expiresAt: Number(expiresAt) };
}
