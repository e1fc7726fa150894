import type { Clock } from '#src/clock.js';

/** A clock the test moves by hand; wall and monotonic time advance together. */
export class FakeClock implements Clock {
  #nowMs: number;
  #monotonicMs = 0;

  constructor(nowMs: number) {
    this.#nowMs = nowMs;
  }

  now(): number {
    return this.#nowMs;
  }

  monotonic(): number {
    return this.#monotonicMs;
  }

  advance(ms: number): void {
    this.#nowMs += ms;
    this.#monotonicMs += ms;
  }

  /** Jumps the wall clock to `nowMs` (monotonic time moves by the same amount). */
  set(nowMs: number): void {
    this.advance(nowMs - this.#nowMs);
  }
}
