import type { Redis } from '../store/createRedis';
import { subscribe, type RedisSubscription } from '../store/RedisSubscription';
import type { BindingChangeFeed, BindingChangeListener } from './BindingChangeFeed';

/**
 * Binding changes over a Redis pub/sub channel: published through the shared client, received on a
 * subscription of its own, one per process. Pub/sub keeps nothing for a disconnected subscriber,
 * so a failed connection is reported (`interrupted`) and its return too (`resumed`, once the
 * subscription hears again).
 */
export class RedisBindingChangeFeed implements BindingChangeFeed {
  private subscription: RedisSubscription | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
  ) {}

  async start(listener: BindingChangeListener): Promise<void> {
    if (this.subscription) throw new Error('the binding change feed is already started: one subscription per process');
    this.subscription = await subscribe(this.redis, this.channel, {
      message: (openidSha1) => listener.changed(openidSha1),
      interrupted: () => listener.interrupted(),
      resumed: () => listener.resumed(),
    });
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.close();
  }

  async publish(openidSha1: string): Promise<void> {
    await this.redis.publish(this.channel, openidSha1);
  }
}
