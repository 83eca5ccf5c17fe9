import { createHash } from 'node:crypto';
import type { Redis } from '../store/createRedis';

/**
 * Wakes long-polls when their ticket changes on any instance: ONE Redis subscription per process
 * (not one per poll) to the channel every transition publishes on; waiters are kept in memory by
 * the SHA-1 of their ticketId, which is what the transitions publish.
 */
export class TicketChangeHub {
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscriber: Redis | null = null;

  constructor(private readonly redis: Redis, private readonly channel: string) {}

  async start(): Promise<void> {
    const subscriber = this.redis.duplicate();
    subscriber.on('error', () => undefined); // the main client already reports connection trouble
    await subscriber.connect();
    await subscriber.subscribe(this.channel, (message) => this.wake(message));
    this.subscriber = subscriber;
  }

  async stop(): Promise<void> {
    this.releaseAll();
    if (this.subscriber?.isOpen) await this.subscriber.close();
    this.subscriber = null;
  }

  /**
   * Starts listening for a change of the ticket; `changed` resolves on a change, after timeoutMs,
   * or at shutdown. Listen first, then read the ticket: a change in between is not missed.
   */
  listen(ticketId: string, timeoutMs: number): { changed: Promise<void>; cancel(): void } {
    const id = createHash('sha1').update(ticketId).digest('hex');
    let done!: () => void;
    const changed = new Promise<void>((resolve) => {
      let set = this.waiters.get(id);
      if (!set) {
        set = new Set();
        this.waiters.set(id, set);
      }
      const timer = setTimeout(() => done(), Math.max(0, timeoutMs));
      done = () => {
        clearTimeout(timer);
        const current = this.waiters.get(id);
        current?.delete(done);
        if (current?.size === 0) this.waiters.delete(id);
        resolve();
      };
      set.add(done);
    });
    return { changed, cancel: () => done() };
  }

  /** Answers every held poll now (graceful shutdown). */
  releaseAll(): void {
    for (const set of [...this.waiters.values()]) for (const done of [...set]) done();
  }

  get waiting(): number {
    let count = 0;
    for (const set of this.waiters.values()) count += set.size;
    return count;
  }

  private wake(id: string): void {
    const set = this.waiters.get(id);
    if (set) for (const done of [...set]) done();
  }
}
