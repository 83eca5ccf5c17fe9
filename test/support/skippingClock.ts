import type { Clock } from '../../src/clock/Clock';

/**
 * Real time, plus whatever the test skipped: for a walk in a real browser that must jump over a
 * waiting period (a scene's quiet period) without sleeping, while timers and TTLs keep running.
 */
export class SkippingClock implements Clock {
  private skipped = 0;
  now(): number {
    return Date.now() + this.skipped;
  }
  skip(ms: number): void {
    this.skipped += ms;
  }
}
