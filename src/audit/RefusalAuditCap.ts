import { fixedWindow, type RateLimiter } from '../security/RateLimiter';
import { SubjectDigest } from '../security/SubjectDigest';
import type { AuditEventType } from './AuditEvent';

export interface RefusalAuditLimit {
  /** Rows of one refusal type stored per client and window; the next one is stored marked, then none. */
  limit: number;
  windowSeconds: number;
}

/** 30 rows of each refusal type per client per 15 minutes: far above what a person mistyping makes. */
export const DEFAULT_REFUSAL_AUDIT_LIMIT: RefusalAuditLimit = { limit: 30, windowSeconds: 15 * 60 };

/**
 * Whether to store this refusal's row: `row`; `last_row` for the first one over the limit (stored
 * with `capped` saying until when no more are); `no_row` for the rest of the window.
 */
export type RefusalAdmission = { store: 'row' } | { store: 'last_row'; until: Date } | { store: 'no_row' };

/** Refusals are the audit types named `<action>_failed`: the ones a client can cause by the thousand. */
export function isRefusalType(type: AuditEventType): boolean {
  return type.endsWith('_failed');
}

/**
 * Bounds the refusal rows one client can add to audit_events (a flood of invalid forms or wrong
 * passwords must not grow the table without end), per refusal type, client and fixed window. The
 * client is the WeChat user when there is one (an openid is costly to renew), else the IP; both
 * appear in the counter's key only as keyed digests.
 */
export class RefusalAuditCap {
  private readonly subjects: SubjectDigest;

  constructor(
    private readonly rateLimiter: RateLimiter,
    dataKey: Buffer,
    private readonly limit: RefusalAuditLimit = DEFAULT_REFUSAL_AUDIT_LIMIT,
  ) {
    this.subjects = new SubjectDigest(dataKey, 'etax-wechat/audit-refusals', 'v1 audit subjects');
  }

  async admit(
    type: AuditEventType,
    client: { openid: string | null; ip: string | null },
    nowMs: number,
  ): Promise<RefusalAdmission> {
    const subject = client.openid
      ? `wx:${this.subjects.of('openid', client.openid)}`
      : `ip:${this.subjects.of('ip', client.ip ?? '')}`;
    const { limit, windowSeconds } = this.limit;
    const hit = await this.rateLimiter.hit(`audit:${type}:${subject}`, limit, windowSeconds);
    if (hit.allowed) return { store: 'row' };
    if (hit.count === limit + 1) return { store: 'last_row', until: new Date(fixedWindow(nowMs, windowSeconds).endMs) };
    return { store: 'no_row' };
  }
}
