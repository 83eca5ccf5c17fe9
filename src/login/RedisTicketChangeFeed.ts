import type { Redis } from '../store/createRedis';
import { subscribe, type RedisSubscription } from '../store/RedisSubscription';
import type { TicketChangeFeed } from './TicketChangeFeed';

/**
 * The channel RedisLoginTicketStore's scripts PUBLISH on, so a change on any instance (and, on a
 * Cluster, on any primary) reaches this one.
 */
export class RedisTicketChangeFeed implements TicketChangeFeed {
  private subscription: RedisSubscription | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
  ) {}

  async start(onChange: (ticketIdSha1: string) => void): Promise<void> {
    if (this.subscription) throw new Error('the ticket change feed is already started: one subscription per process');
    // The main client already reports connection trouble.
    this.subscription = await subscribe(this.redis, this.channel, { message: onChange });
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.close();
  }
}
