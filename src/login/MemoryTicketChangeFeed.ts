import type { TicketChangeFeed } from './TicketChangeFeed';

/**
 * Ticket changes within this process (REDIS_URL=memory): MemoryLoginTicketStore publishes here and
 * the process's TicketChangeHub listens, as Redis pub/sub connects them across instances.
 */
export class MemoryTicketChangeFeed implements TicketChangeFeed {
  private listener: ((ticketIdSha1: string) => void) | null = null;

  start(onChange: (ticketIdSha1: string) => void): Promise<void> {
    if (this.listener)
      return Promise.reject(new Error('the ticket change feed is already started: one listener per process'));
    this.listener = onChange;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.listener = null;
    return Promise.resolve();
  }

  /** Announces a change; nobody listening (before start, after stop) means nobody to wake. */
  publish(ticketIdSha1: string): void {
    this.listener?.(ticketIdSha1);
  }
}
