import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import type { SmsCodeCheck, SmsCodeIssue, SmsCodeIssueResult, SmsCodeStore } from './SmsCodeStore';

/*
 * Keys, all under the phone's hash tag so each script touches one Cluster slot:
 *   sms:{phone}:code:<purpose>:<owner>  hash code / expiresAt / wrongTries  TTL: the code's lifetime
 *   sms:{phone}:gate:<purpose>  clock time (ms) of the next allowed send  TTL: the resend wait
 *   sms:{phone}:sends           sorted set of sends, scored by clock time TTL: the longest cap window
 * Times are the injected clock's, passed in; Redis TTLs only clean up behind them.
 */

// KEYS: code, gate, sends. ARGV: now, code, sendId, codeTtlMs, resendAfterMs, keepSendsMs, then
// (reason, limit, windowMs) per cap.
const ISSUE = `
local now = tonumber(ARGV[1])
local gate = tonumber(redis.call('GET', KEYS[2]) or '0')
if gate > now then return {'resend_too_soon', gate - now} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[6]))
for i = 7, #ARGV, 3 do
  local limit = tonumber(ARGV[i + 1])
  local window = tonumber(ARGV[i + 2])
  local sends = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. (now - window), '+inf', 'WITHSCORES')
  local count = #sends / 2
  if count >= limit then
    -- The next send fits once enough of these have left the window.
    local freeing = tonumber(sends[(count - limit) * 2 + 2])
    return {ARGV[i], freeing + window - now}
  end
end
local codeTtl = tonumber(ARGV[4])
local resendAfter = tonumber(ARGV[5])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'code', ARGV[2], 'expiresAt', now + codeTtl, 'wrongTries', 0)
redis.call('PEXPIRE', KEYS[1], codeTtl)
redis.call('SET', KEYS[2], now + resendAfter, 'PX', resendAfter)
redis.call('ZADD', KEYS[3], now, ARGV[3])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[6]))
return {'ok', 0}`;

// KEYS: code. ARGV: now, candidate, maxWrongTries.
const CHECK = `
local stored = redis.call('HMGET', KEYS[1], 'code', 'expiresAt')
local code = stored[1]
if not code then return 'expired' end
if tonumber(ARGV[1]) >= tonumber(stored[2]) then
  redis.call('DEL', KEYS[1])
  return 'expired'
end
-- Constant time: every character is compared, with no early exit on the first difference.
local candidate = ARGV[2]
local diff = 0
if #candidate ~= #code then diff = 1 end
for i = 1, #code do
  diff = bit.bor(diff, bit.bxor(string.byte(code, i), string.byte(candidate, i) or 0))
end
if diff == 0 then
  redis.call('DEL', KEYS[1])
  return 'ok'
end
if redis.call('HINCRBY', KEYS[1], 'wrongTries', 1) >= tonumber(ARGV[3]) then redis.call('DEL', KEYS[1]) end
return 'wrong'`;

export class RedisSmsCodeStore implements SmsCodeStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async issue(request: SmsCodeIssue): Promise<SmsCodeIssueResult> {
    const keepSendsMs = Math.max(1, ...request.caps.map((cap) => cap.windowMs));
    const reply = (await this.redis.eval(ISSUE, {
      keys: [
        this.codeKey(request.phoneDigest, request.purpose, request.ownerDigest),
        this.gateKey(request.phoneDigest, request.purpose),
        this.sendsKey(request.phoneDigest),
      ],
      arguments: [
        String(request.nowMs),
        request.code,
        request.sendId,
        String(request.codeTtlMs),
        String(request.resendAfterMs),
        String(keepSendsMs),
        ...request.caps.flatMap((cap) => [cap.reason, String(cap.limit), String(cap.windowMs)]),
      ],
    })) as [string, number];
    const [outcome, retryAfterMs] = reply;
    if (outcome === 'ok') return { ok: true };
    return {
      ok: false,
      reason: outcome as Exclude<SmsCodeIssueResult, { ok: true }>['reason'],
      retryAfterMs: Number(retryAfterMs),
    };
  }

  async check(request: SmsCodeCheck): Promise<'ok' | 'wrong' | 'expired'> {
    return (await this.redis.eval(CHECK, {
      keys: [this.codeKey(request.phoneDigest, request.purpose, request.ownerDigest)],
      arguments: [String(request.nowMs), request.candidate, String(request.maxWrongTries)],
    })) as 'ok' | 'wrong' | 'expired';
  }

  // `{digest}` is the Cluster hash tag shared by every key of one phone.
  private codeKey(phoneDigest: string, purpose: string, ownerDigest: string): string {
    return this.keys.key('sms', `{${phoneDigest}}`, 'code', purpose, ownerDigest);
  }

  private gateKey(phoneDigest: string, purpose: string): string {
    return this.keys.key('sms', `{${phoneDigest}}`, 'gate', purpose);
  }

  private sendsKey(phoneDigest: string): string {
    return this.keys.key('sms', `{${phoneDigest}}`, 'sends');
  }
}
