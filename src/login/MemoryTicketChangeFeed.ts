import type { TicketChangeFeed } from './TicketChangeFeed';

/**
 * Ticket changes within this process (REDIS_URL=memory): MemoryLoginTicketStore publishes here and
 * the process's TicketChangeHub listens, as Redis pub/sub connects them across instances.
 */
export class MemoryTicketChangeFeed implements TicketChangeFeed {
  private listener: ((ticketIdSha1: string) => void) | null = null;

  async start(onChange: (ticketIdSha1: string) => void): Promise<void> {
    if (this.listener) throw new Error('the ticket change feed is already started: one listener per process');
    this.listener = onChange;
  }

  async stop(): Promise<void> {
    this.listener = null;
  }

  /** Announces a change; nobody listening (before start, after stop) means nobody to wake. */
  publish(ticketIdSha1: string): void {
    this.listener?.(ticketIdSha1);
  }
}
