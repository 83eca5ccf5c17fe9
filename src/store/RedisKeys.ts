/** Builds every Redis key under one configurable prefix, so deployments and test runs never collide. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  key(...parts: string[]): string {
    return `${this.prefix}${parts.join(':')}`;
  }
}
