import type { Clock } from '../clock.js';

export interface RateLimitFailureReport {
  /** The latest failure. */
  error: unknown;
  /** Failures since the previous report, this one included. */
  failures: number;
}

/**
 * Counts every backend failure but reports at most once per interval, so an unreachable Redis costs
 * one log line per interval instead of one per request. The first failure is reported at once.
 */
export class FailureLogThrottle {
  readonly #intervalMs: number;
  readonly #clock: Clock;
  readonly #report: (report: RateLimitFailureReport) => void;
  #failures = 0;
  #lastReportAt: number | undefined;

  constructor(intervalMs: number, clock: Clock, report: (report: RateLimitFailureReport) => void) {
    this.#intervalMs = intervalMs;
    this.#clock = clock;
    this.#report = report;
  }

  record(error: unknown): void {
    this.#failures += 1;
    const now = this.#clock.monotonic();
    if (this.#lastReportAt !== undefined && now - this.#lastReportAt < this.#intervalMs) return;
    this.#lastReportAt = now;
    const failures = this.#failures;
    this.#failures = 0;
    this.#report({ error, failures });
  }
}
