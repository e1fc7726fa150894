/** Wall-clock and monotonic time, injected so tests can steer windows and deadlines. */
export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  /** Monotonic milliseconds with sub-millisecond precision, for latencies. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
