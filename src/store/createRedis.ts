import { createClient } from 'redis';

export type Redis = ReturnType<typeof createClient>;

/**
 * A node-redis client that keeps reconnecting with a capped back-off, so the service recovers by
 * itself when Redis comes back; commands issued while it is down fail at once instead of queueing.
 */
export function createRedis(url: string, onError: (error: Error) => void): Redis {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 3000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2000),
    },
  });
  client.on('error', onError);
  return client;
}
