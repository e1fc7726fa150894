import type { RateLimitBackend, RateLimitBucket } from './rate-limit-backend.js';

export interface MemoryRateLimitBackendOptions {
  /**
   * Distinct buckets tracked per window and per family (requests, tokens). Beyond it `hit` throws and
   * the limiter fails open for the new bucket only, so a flood of source addresses cannot grow memory
   * without bound.
   */
  maxBucketsPerWindow?: number;
}

interface WindowCounts {
  endSeconds: number;
  counts: Map<string, number>;
}

/** Thrown when a window already tracks `maxBucketsPerWindow` buckets. */
export class RateLimitCapacityError extends Error {
  override name = 'RateLimitCapacityError';
}

/**
 * Counts in this process only (`rateLimit.redisUrl` unset): N replicas would allow N times the limit
 * (LESSONS #6), so it is meant for single-instance deployments and tests. Only the windows still
 * running are kept; a window is dropped as soon as a later one is touched.
 */
export class MemoryRateLimitBackend implements RateLimitBackend {
  readonly isInProcess = true;
  readonly #maxBucketsPerWindow: number;
  readonly #requestWindows = new Map<number, WindowCounts>();
  readonly #tokenWindows = new Map<number, WindowCounts>();

  constructor(options: MemoryRateLimitBackendOptions = {}) {
    this.#maxBucketsPerWindow = options.maxBucketsPerWindow ?? 100_000;
  }

  async hit(
    buckets: readonly RateLimitBucket[],
    windowStartSeconds: number,
    windowSeconds: number,
  ): Promise<number[]> {
    const counts = this.#window(this.#requestWindows, windowStartSeconds, windowSeconds).counts;
    this.#ensureRoom(counts, buckets.filter((bucket) => !counts.has(bucket.key)).length);
    return buckets.map((bucket) => {
      const count = (counts.get(bucket.key) ?? 0) + 1;
      counts.set(bucket.key, count);
      return count;
    });
  }

  async addTokens(
    key: string,
    tokens: number,
    windowStartSeconds: number,
    windowSeconds: number,
  ): Promise<void> {
    const counts = this.#window(this.#tokenWindows, windowStartSeconds, windowSeconds).counts;
    if (!counts.has(key)) this.#ensureRoom(counts, 1);
    counts.set(key, (counts.get(key) ?? 0) + tokens);
  }

  async readTokens(keys: readonly string[], windowStartSeconds: number): Promise<number[]> {
    this.#evictEnded(this.#tokenWindows, windowStartSeconds);
    const counts = this.#tokenWindows.get(windowStartSeconds)?.counts;
    return keys.map((key) => counts?.get(key) ?? 0);
  }

  /** Buckets currently held across all windows and both families, for tests and diagnostics. */
  get size(): number {
    let total = 0;
    for (const windows of [this.#requestWindows, this.#tokenWindows])
      for (const window of windows.values()) total += window.counts.size;
    return total;
  }

  async close(): Promise<void> {
    this.#requestWindows.clear();
    this.#tokenWindows.clear();
  }

  #window(windows: Map<number, WindowCounts>, startSeconds: number, windowSeconds: number): WindowCounts {
    this.#evictEnded(windows, startSeconds);
    let window = windows.get(startSeconds);
    if (window === undefined) {
      window = { endSeconds: startSeconds + windowSeconds, counts: new Map() };
      windows.set(startSeconds, window);
    }
    return window;
  }

  #evictEnded(windows: Map<number, WindowCounts>, currentStartSeconds: number): void {
    for (const [start, window] of windows)
      if (window.endSeconds <= currentStartSeconds) windows.delete(start);
  }

  #ensureRoom(counts: Map<string, number>, newBuckets: number): void {
    if (newBuckets > 0 && counts.size + newBuckets > this.#maxBucketsPerWindow)
      throw new RateLimitCapacityError(
        `rate limit window already tracks ${this.#maxBucketsPerWindow} buckets`,
      );
  }
}
