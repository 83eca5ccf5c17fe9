import type { Clock } from '../clock/Clock';
import { ExpiringMap } from '../store/ExpiringMap';
import type { SmsCodeCheck, SmsCodeIssue, SmsCodeIssueResult, SmsCodeStore } from './SmsCodeStore';

interface StoredCode {
  code: string;
  expiresAt: number;
  wrongTries: number;
}

interface Send {
  at: number;
  id: string;
}

/**
 * SMS codes and send histories in this process (REDIS_URL=memory), the same rules as the Lua
 * scripts of RedisSmsCodeStore step for step. Each method runs without an await in between, so it is
 * one atomic step in single-threaded JavaScript, as a script is in Redis. Times are the caller's
 * (`nowMs`); the lifetimes of the entries, by the injected clock, only clean up behind them.
 */
export class MemorySmsCodeStore implements SmsCodeStore {
  /** By phone + purpose + owner. */
  private readonly codes: ExpiringMap<StoredCode>;
  /** By phone + purpose: the clock time (ms) of the next allowed send. */
  private readonly gates: ExpiringMap<number>;
  /** By phone: its sends, oldest first. */
  private readonly sends: ExpiringMap<Send[]>;

  constructor(clock: Clock) {
    this.codes = new ExpiringMap(clock);
    this.gates = new ExpiringMap(clock);
    this.sends = new ExpiringMap(clock);
  }

  issue(request: SmsCodeIssue): Promise<SmsCodeIssueResult> {
    const now = request.nowMs;
    const gateKey = `${request.phoneDigest}\n${request.purpose}`;
    const codeKey = `${gateKey}\n${request.ownerDigest}`;
    const gate = this.gates.get(gateKey) ?? 0;
    if (gate > now) return Promise.resolve({ ok: false, reason: 'resend_too_soon', retryAfterMs: gate - now });
    const keepSendsMs = Math.max(1, ...request.caps.map((cap) => cap.windowMs));
    const kept = (this.sends.get(request.phoneDigest) ?? []).filter((send) => send.at > now - keepSendsMs);
    for (const cap of request.caps) {
      const inWindow = kept.filter((send) => send.at > now - cap.windowMs);
      if (inWindow.length >= cap.limit) {
        // The next send fits once enough of these have left the window.
        const freeing = inWindow[inWindow.length - cap.limit]!.at;
        return Promise.resolve({ ok: false, reason: cap.reason, retryAfterMs: freeing + cap.windowMs - now });
      }
    }
    this.codes.set(
      codeKey,
      { code: request.code, expiresAt: now + request.codeTtlMs, wrongTries: 0 },
      request.codeTtlMs,
    );
    this.gates.set(gateKey, now + request.resendAfterMs, request.resendAfterMs);
    kept.push({ at: now, id: request.sendId });
    kept.sort((a, b) => a.at - b.at);
    this.sends.set(request.phoneDigest, kept, keepSendsMs);
    return Promise.resolve({ ok: true });
  }

  check(request: SmsCodeCheck): Promise<'ok' | 'wrong' | 'expired'> {
    const codeKey = `${request.phoneDigest}\n${request.purpose}\n${request.ownerDigest}`;
    const stored = this.codes.get(codeKey);
    if (!stored) return Promise.resolve('expired');
    if (request.nowMs >= stored.expiresAt) {
      this.codes.delete(codeKey);
      return Promise.resolve('expired');
    }
    if (sameInConstantTime(stored.code, request.candidate)) {
      this.codes.delete(codeKey);
      return Promise.resolve('ok');
    }
    stored.wrongTries += 1;
    if (stored.wrongTries >= request.maxWrongTries) this.codes.delete(codeKey);
    return Promise.resolve('wrong');
  }
}

/** Every byte of the code is compared, with no early exit on the first difference (as the Lua does). */
function sameInConstantTime(code: string, candidate: string): boolean {
  const expected = Buffer.from(code, 'utf8');
  const given = Buffer.from(candidate, 'utf8');
  let diff = expected.length === given.length ? 0 : 1;
  for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ (given[i] ?? 0);
  return diff === 0;
}
