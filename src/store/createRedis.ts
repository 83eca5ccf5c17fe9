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

/**
 * The first connection, with a deadline: a service that cannot reach Redis at start should exit
 * and say so, not wait forever while the client keeps retrying.
 */
export async function connectRedis(client: Redis, deadlineMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis not reachable within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    await Promise.race([client.connect(), deadline]);
  } catch (error) {
    client.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
