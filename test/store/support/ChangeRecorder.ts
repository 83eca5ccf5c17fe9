/** Records what a feed delivers, and lets a test await a delivery instead of sleeping. */
export class ChangeRecorder {
  readonly seen: string[] = [];
  private waiters: Array<{ change: string; resolve: () => void }> = [];

  readonly record = (change: string): void => {
    this.seen.push(change);
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.change !== change) return true;
      waiter.resolve();
      return false;
    });
  };

  /** Resolves once `change` has been delivered. */
  untilSeen(change: string): Promise<void> {
    if (this.seen.includes(change)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ change, resolve }));
  }
}
