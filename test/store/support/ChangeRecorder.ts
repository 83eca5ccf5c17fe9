/** Records what a feed delivers, and lets a test await a delivery instead of sleeping. */
export class ChangeRecorder {
  readonly seen: string[] = [];
  private waiters: Array<{ change: string; times: number; resolve: () => void }> = [];

  readonly record = (change: string): void => {
    this.seen.push(change);
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.change !== change || this.count(change) < waiter.times) return true;
      waiter.resolve();
      return false;
    });
  };

  /** Resolves once `change` has been delivered `times` times. */
  untilSeen(change: string, times = 1): Promise<void> {
    if (this.count(change) >= times) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ change, times, resolve }));
  }

  private count(change: string): number {
    return this.seen.filter((seen) => seen === change).length;
  }
}
