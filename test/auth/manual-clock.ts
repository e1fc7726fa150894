import type { Clock } from '#src/clock.js';

/** A clock that moves only when told to, wall and monotonic together. */
export class ManualClock implements Clock {
  private wallMs = 1_700_000_000_000;
  private monotonicMs = 10_000;

  now(): number {
    return this.wallMs;
  }

  monotonic(): number {
    return this.monotonicMs;
  }

  advance(ms: number): void {
    this.wallMs += ms;
    this.monotonicMs += ms;
  }

  /** Steps the wall clock alone, as NTP might; monotonic time is unaffected. */
  stepWall(ms: number): void {
    this.wallMs += ms;
  }
}
