import { randomBytes } from 'node:crypto';
import type { Redis, RedisCluster, RedisSentinel } from './createRedis';

export interface SubscriptionListener {
  message(message: string): void;
  /** The subscription's connection failed: messages may be missed until `resumed`. */
  interrupted?(): void;
  /** Messages arrive again; whatever was published in between is lost (pub/sub keeps nothing). */
  resumed?(): void;
}

export interface RedisSubscription {
  close(): Promise<void>;
}

// Never a SHA-1 in hex, which is all the feeds carry, so a probe cannot pass for a change.
const PROBE = '~probe:';
const PROBE_EVERY_MS = 250;

export function isCluster(redis: Redis): redis is RedisCluster {
  return 'getSlotMaster' in redis;
}

export function isSentinel(redis: Redis): redis is RedisSentinel {
  return 'getMasterNode' in redis;
}

/**
 * A plain (not sharded) SUBSCRIBE to `channel` on any topology. On a Cluster a plain PUBLISH
 * reaches every node, so one subscription anywhere hears the changes written on every primary;
 * sharded pub/sub would need a channel per slot and a subscription per primary to hear them all.
 *
 * After an interruption, the subscription is known to be live again only when it hears itself: a
 * probe is published through `redis` until it comes back, then `resumed` is called. That holds for
 * one node, a failed-over Sentinel primary and a Cluster that moved its pub/sub connection alike.
 */
export async function subscribe(
  redis: Redis,
  channel: string,
  listener: SubscriptionListener,
): Promise<RedisSubscription> {
  let probe: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  const onMessage = (message: string): void => {
    if (!message.startsWith(PROBE)) return listener.message(message);
    if (message !== probe) return;
    probe = null;
    clearInterval(timer);
    listener.resumed?.();
  };
  const onFailure = (): void => {
    listener.interrupted?.();
    if (probe || !listener.resumed) return;
    probe = PROBE + randomBytes(8).toString('hex');
    const sent = probe;
    timer = setInterval(() => {
      redis.publish(channel, sent).catch(() => undefined);
    }, PROBE_EVERY_MS);
  };

  if (isSentinel(redis)) {
    // A Sentinel client has no duplicate(); its subscriptions already run on a connection of their own.
    redis.on('error', onFailure);
    await redis.subscribe(channel, onMessage);
    return {
      async close() {
        clearInterval(timer);
        redis.off('error', onFailure);
        await redis.unsubscribe(channel);
      },
    };
  }
  // A subscribed connection can run no other command, so it is one of its own.
  const subscriber = redis.duplicate();
  subscriber.on(isCluster(redis) ? 'node-error' : 'error', onFailure);
  if (isCluster(redis)) subscriber.on('error', onFailure);
  try {
    await subscriber.connect();
    await subscriber.subscribe(channel, onMessage);
  } catch (error) {
    await Promise.resolve(subscriber.destroy()).catch(() => undefined);
    throw error;
  }
  return {
    async close() {
      clearInterval(timer);
      if (subscriber.isOpen) await subscriber.close();
    },
  };
}
