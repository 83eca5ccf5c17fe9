import type { Redis } from '../store/createRedis';
import type { TicketChangeFeed } from './TicketChangeFeed';

/**
 * The channel RedisLoginTicketStore's scripts PUBLISH on, through a connection of its own (a
 * subscribed connection can run no other command), so a change on any instance reaches this one.
 */
export class RedisTicketChangeFeed implements TicketChangeFeed {
  private subscriber: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
  ) {}

  async start(onChange: (ticketIdSha1: string) => void): Promise<void> {
    if (this.subscriber) throw new Error('the ticket change feed is already started: one subscription per process');
    const subscriber = this.redis.duplicate();
    subscriber.on('error', () => undefined); // the main client already reports connection trouble
    await subscriber.connect();
    await subscriber.subscribe(this.channel, (message) => onChange(message));
    this.subscriber = subscriber;
  }

  async stop(): Promise<void> {
    if (this.subscriber?.isOpen) await this.subscriber.close();
    this.subscriber = null;
  }
}
