import type { Redis } from '../store/createRedis';
import type { BindingChangeFeed, BindingChangeListener } from './BindingChangeFeed';

/**
 * Binding changes over a Redis pub/sub channel: published through the shared client, received on a
 * connection of its own (a subscribed connection can run no other command), one per process.
 * Pub/sub keeps nothing for a disconnected subscriber, so a dropped connection is reported
 * (`interrupted`) and its return too (`resumed`, once node-redis has subscribed again).
 */
export class RedisBindingChangeFeed implements BindingChangeFeed {
  private subscriber: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
  ) {}

  async start(listener: BindingChangeListener): Promise<void> {
    if (this.subscriber) throw new Error('the binding change feed is already started: one subscription per process');
    const subscriber = this.redis.duplicate();
    // The main client already reports connection trouble; here an error only means "may have missed some".
    subscriber.on('error', () => listener.interrupted());
    await subscriber.connect();
    await subscriber.subscribe(this.channel, (message) => listener.changed(message));
    // Registered after the first subscription: from here on 'ready' is a reconnection, emitted by
    // node-redis only after it has subscribed again, so nothing published later is missed.
    subscriber.on('ready', () => listener.resumed());
    this.subscriber = subscriber;
  }

  async stop(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (subscriber?.isOpen) await subscriber.close();
  }

  async publish(openidSha1: string): Promise<void> {
    await this.redis.publish(this.channel, openidSha1);
  }
}
