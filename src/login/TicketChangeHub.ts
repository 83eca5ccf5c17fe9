import { ticketChangeId, type TicketChangeFeed } from './TicketChangeFeed';

/**
 * Wakes long-polls when their ticket changes on any instance: ONE feed per process (one Redis
 * subscription, not one per poll) carrying every transition; waiters are kept in memory by the
 * SHA-1 of their ticketId, which is what the transitions announce.
 */
export class TicketChangeHub {
  /** By ticket: its one waiter (the common case: one browser polls a ticket), or a Set of several. */
  private readonly waiters = new Map<string, (() => void) | Set<() => void>>();
  private releasing = false;

  constructor(private readonly feed: TicketChangeFeed) {}

  async start(): Promise<void> {
    await this.feed.start((ticketIdSha1) => this.wake(ticketIdSha1));
  }

  async stop(): Promise<void> {
    this.releaseAll();
    await this.feed.stop();
  }

  /**
   * Starts listening for a change of the ticket; `changed` resolves on a change, after timeoutMs,
   * or at shutdown. Listen first, then read the ticket: a change in between is not missed.
   */
  listen(ticketId: string, timeoutMs: number): { changed: Promise<void>; cancel: () => void } {
    if (this.releasing) return { changed: Promise.resolve(), cancel: () => undefined };
    const id = ticketChangeId(ticketId);
    let resolve!: () => void;
    const changed = new Promise<void>((r) => {
      resolve = r;
    });
    // One closure per poll (its timer, its cancel and its wake): 10,000 may be held at once.
    const done = () => {
      clearTimeout(timer);
      const current = this.waiters.get(id);
      if (current === done) this.waiters.delete(id);
      else if (current instanceof Set && current.delete(done) && current.size === 0) this.waiters.delete(id);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, timeoutMs));
    const current = this.waiters.get(id);
    if (current === undefined) this.waiters.set(id, done);
    else if (current instanceof Set) current.add(done);
    else this.waiters.set(id, new Set([current, done]));
    return { changed, cancel: done };
  }

  /**
   * Answers every held poll now (graceful shutdown); from then on `listen` returns at once and
   * `draining` is true, so a poll answers with the current status instead of waiting again.
   */
  releaseAll(): void {
    this.releasing = true;
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }

  get draining(): boolean {
    return this.releasing;
  }

  get waiting(): number {
    let count = 0;
    for (const entry of this.waiters.values()) count += entry instanceof Set ? entry.size : 1;
    return count;
  }

  private wake(id: string): void {
    const entry = this.waiters.get(id);
    if (entry instanceof Set) for (const done of [...entry]) done();
    else entry?.();
  }
}
