import { createHash } from 'node:crypto';
import type { Redis } from './createRedis';

/**
 * A Lua script run by EVALSHA (the body travels once per server, not per call); loaded again by
 * itself after a Redis restart or failover answers NOSCRIPT.
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await redis.evalSha(this.sha, { keys, arguments: args });
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      await redis.scriptLoad(this.source);
      return redis.evalSha(this.sha, { keys, arguments: args });
    }
  }
}
