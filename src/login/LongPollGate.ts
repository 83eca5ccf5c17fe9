import { ticketChangeId } from './TicketChangeFeed';

export interface LongPollLimits {
  maxPerTicket: number;
  maxPerIp: number;
}

/**
 * How many long-polls this process holds at once per ticket and per client IP. A held poll costs a
 * connection (a file descriptor) and about 15 KB for up to 30 s, and a ticket id is no secret from
 * whoever sees the portal's page, so one ticket or one client could otherwise hold thousands. A poll
 * past either limit is not held: it is answered at once with the current status.
 */
export class LongPollGate {
  private readonly byTicket = new Map<string, number>();
  private readonly byIp = new Map<string, number>();

  constructor(private readonly limits: LongPollLimits) {}

  /** A slot for one held poll (call `release` once it is answered), or null when a limit is reached. */
  admit(ticketId: string, ip: string): { release(): void } | null {
    // A fixed-size name: the ticket id in the path is whatever the client wrote.
    const ticket = ticketChangeId(ticketId);
    if ((this.byTicket.get(ticket) ?? 0) >= this.limits.maxPerTicket) return null;
    if ((this.byIp.get(ip) ?? 0) >= this.limits.maxPerIp) return null;
    increment(this.byTicket, ticket);
    increment(this.byIp, ip);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        decrement(this.byTicket, ticket);
        decrement(this.byIp, ip);
      },
    };
  }

  /** Polls held now (all tickets). */
  get held(): number {
    let count = 0;
    for (const n of this.byTicket.values()) count += n;
    return count;
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
