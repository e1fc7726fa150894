/** One fixed-window counter: `key` names the bucket (`org:<id>`, `key:<id>`, `ip:<address>`). */
export interface RateLimitBucket {
  key: string;
  /** Requests allowed per window. Backends count past it: every request counts, allowed or not (SPEC §7). */
  limit: number;
}

/**
 * Where window counts live. Every method is one round trip at most; the limiter bounds each call by
 * `rateLimit.timeoutMs` and fails open on any rejection, so implementations may simply throw.
 */
export interface RateLimitBackend {
  /**
   * The backend answers from this process's memory, without I/O: the limiter races no timer against
   * it (a timer and a race per request cost more than the answer).
   */
  readonly isInProcess?: boolean;
  /** Adds 1 to every bucket of the window starting at `windowStartSeconds`; returns the new counts in order. */
  hit(
    buckets: readonly RateLimitBucket[],
    windowStartSeconds: number,
    windowSeconds: number,
  ): Promise<number[]>;
  /** Adds settled tokens (prompt + completion) to one bucket's token count for the window. */
  addTokens(key: string, tokens: number, windowStartSeconds: number, windowSeconds: number): Promise<void>;
  /** Current token counts of the window, 0 for a bucket never charged; in the order of `keys`. */
  readTokens(keys: readonly string[], windowStartSeconds: number): Promise<number[]>;
  /** Releases connections; safe to call twice. */
  close(): Promise<void>;
}
