import type { RateLimiter } from '../security/RateLimiter';
import type { SmsSubjectDigest } from '../sms/SmsSubjectDigest';

export interface TicketCreationLimits {
  /** Tickets a minute for one browser IP, as portals report it (clientIp). */
  perIpPerMinute: number;
  /** Tickets a minute for one portal (its key name), whatever the browser. */
  perKeyPerMinute: number;
}

const MINUTE = 60;

/**
 * Caps POST /api/login/tickets (ASVS V2.4.1: anti-automation): a visitor who reloads a portal's
 * login page, or scripts it, cannot make tickets — and with them leased QR codes and, once the pool
 * runs dry, WeChat's daily qrcode/create quota — faster than a browser ever needs them. Counted per
 * reported browser IP (only when the portal reports one: the portal's own address stands for all its
 * users) and per portal. IPs appear in Redis keys only as keyed digests.
 */
export class TicketCreationLimiter {
  constructor(
    private readonly rateLimiter: RateLimiter,
    private readonly subjects: Pick<SmsSubjectDigest, 'ip'>,
    private readonly limits: TicketCreationLimits,
  ) {}

  /** Counts one creation; the seconds to wait when it is over a limit, else null. */
  async admit(portal: string, reportedIp: string | undefined): Promise<number | null> {
    const { perIpPerMinute, perKeyPerMinute } = this.limits;
    const verdicts = await Promise.all([
      this.rateLimiter.hit(`login-tickets:key:${portal}`, perKeyPerMinute, MINUTE),
      ...(reportedIp
        ? [this.rateLimiter.hit(`login-tickets:ip:${this.subjects.ip(reportedIp)}`, perIpPerMinute, MINUTE)]
        : []),
    ]);
    const refused = verdicts.filter((verdict) => !verdict.allowed);
    return refused.length > 0 ? Math.max(...refused.map((verdict) => verdict.retryAfterSeconds)) : null;
  }
}
