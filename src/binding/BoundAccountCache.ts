import type { Clock } from '../clock/Clock';
import type { Logger } from '../logging/createLogger';
import { bindingChangeId, type BindingChangeFeed } from './BindingChangeFeed';

/** Where a miss reads the binding: MySQL (BindingStore). */
export interface BoundAccountSource {
  accountIdFor(openid: string): Promise<string | null>;
}

/** What a write to wechat_bindings calls once its transaction has committed. */
export interface BindingChangeAnnouncer {
  /** Never rejects: the change is committed whatever happens to the announcement. */
  announceChange(openid: string): Promise<void>;
}

export interface BoundAccountCacheOptions {
  source: BoundAccountSource;
  feed: BindingChangeFeed;
  clock: Clock;
  logger: Logger;
  /** Oldest-used entries are dropped beyond this; default 50,000 (a few MB). */
  maxEntries?: number;
  /** Lifetime of an entry: the backstop for a lost announcement. Default 60 s. */
  ttlMs?: number;
}

interface Entry {
  accountId: string;
  expiresAt: number;
}

/**
 * Which account an openid is bound to, for the scan hot path (LoginService.onScan): an in-process
 * LRU map in front of MySQL, emptied of an openid when any instance announces a change of its
 * binding over `feed`.
 *
 * "Not bound" is never kept: the hot path is the scan of a bound WeChat, an unbound one scans about
 * once before it binds, and a stale "not bound" would strike exactly then (绑定成功, scan again,
 * 请先完成实名绑定). So only unbind announcements matter; a lost bind announcement changes nothing.
 *
 * Entries are kept only while the feed is live (between start and stop, and not while its
 * connection is down), and a read stores its result only if no announcement arrived while it ran:
 * otherwise a read that began before a change committed elsewhere could store the old binding
 * after the announcement that should have removed it.
 */
export class BoundAccountCache implements BindingChangeAnnouncer {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every invalidation; a read stores its result only if unchanged since it began. */
  private generation = 0;
  private live = false;
  private readonly maxEntries: number;
  private readonly ttlMs: number;

  constructor(private readonly options: BoundAccountCacheOptions) {
    this.maxEntries = options.maxEntries ?? 50_000;
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  /** Subscribes to the change feed; the cache keeps nothing before this resolves. */
  async start(): Promise<void> {
    await this.options.feed.start({
      changed: (openidSha1) => this.forget(openidSha1),
      interrupted: () => {
        if (this.live)
          this.options.logger.warn(
            'binding change feed interrupted: bound-account cache emptied and bypassed until it resumes',
          );
        this.live = false;
        this.clear();
      },
      resumed: () => {
        this.clear();
        this.live = true;
      },
    });
    this.live = true;
  }

  async stop(): Promise<void> {
    this.live = false;
    this.clear();
    await this.options.feed.stop();
  }

  async accountIdFor(openid: string): Promise<string | null> {
    if (!this.live) return this.options.source.accountIdFor(openid);
    const key = bindingChangeId(openid);
    const now = this.options.clock.now();
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      if (entry.expiresAt > now) {
        this.entries.set(key, entry); // most recently used goes last; eviction takes the first
        return entry.accountId;
      }
    }
    const readFrom = this.generation;
    const accountId = await this.options.source.accountIdFor(openid);
    if (accountId !== null && this.live && this.generation === readFrom) {
      this.entries.set(key, { accountId, expiresAt: this.options.clock.now() + this.ttlMs });
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return accountId;
  }

  /**
   * Forgets the openid here at once (this instance's next scan must see the change), then tells
   * every other instance. A failed announcement is logged, not thrown: the write it follows has
   * committed, and the other instances' entries expire within ttlMs anyway.
   */
  async announceChange(openid: string): Promise<void> {
    const openidSha1 = bindingChangeId(openid);
    this.forget(openidSha1);
    try {
      await this.options.feed.publish(openidSha1);
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'binding change not announced: other instances may use the old binding until their cache entry expires',
      );
    }
  }

  /** Entries currently held, expired ones included until they are next looked up or evicted. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets everything (the feed was interrupted; tests that write bindings behind the services' back). */
  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }

  private forget(openidSha1: string): void {
    this.generation += 1;
    this.entries.delete(openidSha1);
  }
}
