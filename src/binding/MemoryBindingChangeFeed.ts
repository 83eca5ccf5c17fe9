import type { BindingChangeFeed, BindingChangeListener } from './BindingChangeFeed';

/**
 * Binding changes within this process (REDIS_URL=memory, the embedded demo): one instance only,
 * so an announcement reaches the one cache there is, synchronously, and is never lost.
 */
export class MemoryBindingChangeFeed implements BindingChangeFeed {
  private listener: BindingChangeListener | null = null;

  start(listener: BindingChangeListener): Promise<void> {
    if (this.listener)
      return Promise.reject(new Error('the binding change feed is already started: one listener per process'));
    this.listener = listener;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.listener = null;
    return Promise.resolve();
  }

  publish(openidSha1: string): Promise<void> {
    this.listener?.changed(openidSha1);
    return Promise.resolve();
  }
}
