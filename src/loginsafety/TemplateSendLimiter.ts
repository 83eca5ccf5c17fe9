import { createHash } from 'node:crypto';
import type { Clock } from '../clock/Clock';
import type { RateLimiter } from '../security/RateLimiter';

export interface TemplateSendLimits {
  /** Sends a second by all instances together; a send over it waits for the next second. */
  perSecond: number;
  /** Sends a day by all instances together; over it, the send is dropped. */
  dailyBudget: number;
  /** Sends to one WeChat user a minute (WeChat answers 43117 to a user messaged too often). */
  perRecipientPerMinute: number;
  /** How long a send may wait for its second before it is dropped. */
  maxWaitMs: number;
}

export const DEFAULT_PER_RECIPIENT_PER_MINUTE = 5;
export const DEFAULT_MAX_WAIT_MS = 5 * 60_000;

export type SendPermit = { allowed: true } | { allowed: false; reason: 'daily_budget' | 'recipient_limit' | 'backlog' };

/**
 * Keeps template messages within WeChat's limits across every instance (the counters live in the
 * shared RateLimiter: Redis, or this process for the demo). WeChat documents a daily quota per
 * account (100,000 by default) and no rate; it answers 45009 past the quota and 43117 to a user
 * messaged too often, so a burst is spread over seconds instead of sent at once.
 */
export class TemplateSendLimiter {
  constructor(
    private readonly rateLimiter: RateLimiter,
    private readonly clock: Clock,
    private readonly limits: TemplateSendLimits,
    /** Waits `ms` of real time; tests move their clock instead. */
    private readonly wait: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Resolves when one message to `openid` may be sent now, or says why it may not be sent at all. */
  async take(openid: string): Promise<SendPermit> {
    const { perSecond, dailyBudget, perRecipientPerMinute, maxWaitMs } = this.limits;
    const recipient = await this.rateLimiter.hit(`template:to:${digest(openid)}`, perRecipientPerMinute, 60);
    if (!recipient.allowed) return { allowed: false, reason: 'recipient_limit' };
    const day = await this.rateLimiter.hit('template:day', dailyBudget, 86_400);
    if (!day.allowed) return { allowed: false, reason: 'daily_budget' };
    for (let waited = 0; ;) {
      const second = await this.rateLimiter.hit('template:second', perSecond, 1);
      if (second.allowed) return { allowed: true };
      // The next one-second window starts on the next whole second of the shared clock.
      const untilNextSecond = 1000 - (this.clock.now() % 1000);
      if (waited + untilNextSecond > maxWaitMs) return { allowed: false, reason: 'backlog' };
      await this.wait(untilNextSecond);
      waited += untilNextSecond;
    }
  }
}

// Openids appear in Redis keys only as digests.
function digest(openid: string): string {
  return createHash('sha256').update(openid, 'utf8').digest('hex').slice(0, 32);
}
