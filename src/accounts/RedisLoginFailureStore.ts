import type { Clock } from '../clock/Clock';
import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import { RedisScript } from '../store/RedisScript';
import type { FailureClaim, FailurePacing, LoginFailureStore } from './LoginFailureStore';

// One hash per identifier: `t` the failures of every client, `n:<client>` and `a:<client>` one
// client's failures and the time of its last. The wait is LoginFailureStore's waitOf, in Lua, so
// reading the counts, deciding and counting are one step however many instances claim at once.
// ARGV: now, forgetMs, client, ceiling, ceilingWaitMs, then clientWaitsMs.
const CLAIM = new RedisScript(`
local now = tonumber(ARGV[1])
local forget = tonumber(ARGV[2])
local countField, atField = 'n:' .. ARGV[3], 'a:' .. ARGV[3]
local values = redis.call('HMGET', KEYS[1], countField, atField, 't')
local failures, last, total = tonumber(values[1]) or 0, tonumber(values[2]) or 0, tonumber(values[3]) or 0
if last + forget <= now then failures = 0 end
if failures > 0 then
  local waits = #ARGV - 5
  local wait = tonumber(ARGV[5 + math.min(failures + 1, waits)])
  if total >= tonumber(ARGV[4]) then wait = math.max(wait, tonumber(ARGV[5])) end
  if last + wait > now then return {0, last + wait - now} end
end
redis.call('HSET', KEYS[1], countField, failures + 1, atField, ARGV[1])
redis.call('HINCRBY', KEYS[1], 't', 1)
redis.call('PEXPIRE', KEYS[1], forget)
return {1, failures + 1}`);

// Only a hash that still exists is changed: a new one would have no TTL.
const SUCCEEDED = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], 'n:' .. ARGV[1], 'a:' .. ARGV[1])
if (tonumber(redis.call('HGET', KEYS[1], 't')) or 0) > 0 then redis.call('HINCRBY', KEYS[1], 't', -1) end
return 1`);

/** Failed-login counts in Redis, one hash per identifier digest that expires forgetMs after its last failure. */
export class RedisLoginFailureStore implements LoginFailureStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  async claim(identifier: string, client: string, pacing: FailurePacing): Promise<FailureClaim> {
    const args = [
      String(this.clock.now()),
      String(pacing.forgetMs),
      client,
      String(pacing.ceiling),
      String(pacing.ceilingWaitMs),
      ...pacing.clientWaitsMs.map(String),
    ];
    const [allowed, value] = (await CLAIM.run(this.redis, [this.key(identifier)], args)) as [number, number];
    return allowed === 1 ? { allowed: true, clientFailures: value } : { allowed: false, retryAfterMs: value };
  }

  async succeeded(identifier: string, client: string): Promise<void> {
    await SUCCEEDED.run(this.redis, [this.key(identifier)], [client]);
  }

  async forget(identifier: string): Promise<void> {
    await this.redis.del(this.key(identifier));
  }

  private key(identifier: string): string {
    return this.keys.key('login-failures', identifier);
  }
}
