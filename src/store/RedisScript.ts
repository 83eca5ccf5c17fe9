import { createHash } from 'node:crypto';
import type { Redis } from './createRedis';

/**
 * A Lua script run by EVALSHA (the body travels once per server, not per call). A server that
 * answers NOSCRIPT (restarted, promoted in a failover, a Cluster primary that never ran it) gets
 * the body once by EVAL, which runs it and caches it there: EVAL is routed by the keys like
 * EVALSHA, so it reaches the very node that lacked the script, on any topology.
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
      return redis.eval(this.source, { keys, arguments: args });
    }
  }
}
