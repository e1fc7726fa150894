import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { FailureLogThrottle, type RateLimitFailureReport } from './failure-log-throttle.js';
import { type FixedWindow, fixedWindowAt } from './fixed-window.js';
import type { RateLimitBackend, RateLimitBucket } from './rate-limit-backend.js';
import { type RateLimitIdentity, type RateLimitPlan, rateLimitPlanFor } from './rate-limit-identity.js';

/** The token bucket with least remaining, for the `x-ratelimit-*-tokens` headers. */
export interface TokenRateLimitState {
  limit: number;
  /** ≥ 0. */
  remaining: number;
  resetSeconds: number;
}

/** The outcome of one check, reported for the request bucket with least remaining (SPEC §7). */
export interface RateLimitDecision {
  allowed: boolean;
  /** The catalog code to answer with when refused; `undefined` when allowed. */
  refusal: 'rate_limit_exceeded' | 'token_rate_limit_exceeded' | undefined;
  limit: number;
  /** ≥ 0. */
  remaining: number;
  /** Window end, Unix seconds. */
  resetSeconds: number;
  /** `max(1, reset − now)` at the time of the check. */
  retryAfterSeconds: number;
  /** Present when a token limit applies to the identity. */
  tokens: TokenRateLimitState | undefined;
  /** The backend failed or was too slow and the request was let through. */
  isFailOpen: boolean;
}

export interface RateLimiterOptions
  extends Pick<Config['rateLimit'], 'windowSeconds' | 'orgLimit' | 'anonymousLimit' | 'timeoutMs'> {
  backend: RateLimitBackend;
  clock: Clock;
  /** Called on every check that fails open (wire `maniac_ratelimit_fail_open_total` here). */
  onFailOpen?(error: unknown): void;
  /** Backend failures, at most once per `failureLogIntervalMs` (a warn log line). */
  onFailureLog?(report: RateLimitFailureReport): void;
  failureLogIntervalMs?: number;
}

/** The backend did not answer within `rateLimit.timeoutMs`. */
export class RateLimitTimeoutError extends Error {
  override name = 'RateLimitTimeoutError';
}

const noTokenCounts: Promise<number[]> = Promise.resolve([]);

/** Races `operation` against a timer that is always cleared, whichever side wins. */
function withinTimeout<T>(operation: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new RateLimitTimeoutError(`rate limit backend did not answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([operation, deadline]).finally(() => clearTimeout(timer));
}

/** Index of the bucket with least `limit − count`; the first one on ties. */
function leastRemaining(buckets: readonly RateLimitBucket[], counts: readonly number[]): number {
  let chosen = 0;
  for (let index = 1; index < buckets.length; index++)
    if (buckets[index].limit - counts[index] < buckets[chosen].limit - counts[chosen]) chosen = index;
  return chosen;
}

/**
 * Fixed-window request and token limits (SPEC §7) over a shared backend. Fail-open by policy: a
 * backend that errs or answers later than `timeoutMs` lets the request through with `remaining = limit`,
 * because an outage of the limiter must not become an outage of the gateway.
 */
export class RateLimiter {
  readonly #options: RateLimiterOptions;
  readonly #failureLog: FailureLogThrottle;
  #isDegraded = false;

  constructor(options: RateLimiterOptions) {
    this.#options = options;
    this.#failureLog = new FailureLogThrottle(
      options.failureLogIntervalMs ?? 10_000,
      options.clock,
      options.onFailureLog ?? (() => {}),
    );
  }

  /** `degraded` while the latest backend call failed, for `/readyz` (which stays ready either way). */
  get health(): 'ok' | 'degraded' {
    return this.#isDegraded ? 'degraded' : 'ok';
  }

  /**
   * Counts the request against every bucket of the identity and decides. `clientIp` (see `clientIpOf`)
   * names the bucket of an `anonymous` identity. `undefined` means the identity is not rate limited at
   * all (the internal key): no headers, no 429. Never rejects.
   */
  async check(identity: RateLimitIdentity, clientIp: string): Promise<RateLimitDecision | undefined> {
    const { backend, clock, windowSeconds, timeoutMs } = this.#options;
    const plan = rateLimitPlanFor(identity, clientIp, this.#options);
    if (plan.requests.length === 0) return undefined;
    const window = fixedWindowAt(clock.now(), windowSeconds);
    let counts: number[];
    let tokenCounts: number[];
    try {
      const answers = Promise.all([
        backend.hit(plan.requests, window.startSeconds, windowSeconds),
        plan.tokens.length === 0
          ? noTokenCounts
          : backend.readTokens(
              plan.tokens.map((bucket) => bucket.key),
              window.startSeconds,
            ),
      ]);
      [counts, tokenCounts] = await (backend.isInProcess ? answers : withinTimeout(answers, timeoutMs));
    } catch (error) {
      this.#recordFailure(error);
      this.#options.onFailOpen?.(error);
      return failOpenDecision(plan, window);
    }
    this.#isDegraded = false;
    return decide(plan, window, counts, tokenCounts);
  }

  /**
   * Adds a settled request's tokens (prompt + completion) to the current window of each token bucket
   * of the identity (only `organization` identities carry token limits). Off the response path: never
   * rejects; failures are logged like check failures.
   */
  async recordTokens(identity: RateLimitIdentity, tokens: number): Promise<void> {
    if (!Number.isFinite(tokens) || tokens <= 0 || identity.kind !== 'organization') return;
    const { backend, clock, windowSeconds, timeoutMs } = this.#options;
    const plan = rateLimitPlanFor(identity, '', this.#options);
    if (plan.tokens.length === 0) return;
    const window = fixedWindowAt(clock.now(), windowSeconds);
    const amount = Math.round(tokens);
    try {
      const added = Promise.all(
        plan.tokens.map((bucket) =>
          backend.addTokens(bucket.key, amount, window.startSeconds, windowSeconds),
        ),
      );
      await (backend.isInProcess ? added : withinTimeout(added, timeoutMs));
      this.#isDegraded = false;
    } catch (error) {
      this.#recordFailure(error);
    }
  }

  /** Closes the backend (the Redis connection). */
  close(): Promise<void> {
    return this.#options.backend.close();
  }

  #recordFailure(error: unknown): void {
    this.#isDegraded = true;
    this.#failureLog.record(error);
  }
}

function decide(
  plan: RateLimitPlan,
  window: FixedWindow,
  counts: readonly number[],
  tokenCounts: readonly number[],
): RateLimitDecision {
  const chosen = leastRemaining(plan.requests, counts);
  const limit = plan.requests[chosen].limit;
  const remaining = limit - counts[chosen];
  let tokens: TokenRateLimitState | undefined;
  let isTokenLimitReached = false;
  if (plan.tokens.length > 0) {
    const chosenTokens = leastRemaining(plan.tokens, tokenCounts);
    const tokenLimit = plan.tokens[chosenTokens].limit;
    const tokensRemaining = tokenLimit - tokenCounts[chosenTokens];
    // Checked, not reserved: refused only once the window's count has reached the limit.
    isTokenLimitReached = tokensRemaining <= 0;
    tokens = {
      limit: tokenLimit,
      remaining: Math.max(0, tokensRemaining),
      resetSeconds: window.resetSeconds,
    };
  }
  const refusal =
    remaining < 0 ? 'rate_limit_exceeded' : isTokenLimitReached ? 'token_rate_limit_exceeded' : undefined;
  return {
    allowed: refusal === undefined,
    refusal,
    limit,
    remaining: Math.max(0, remaining),
    resetSeconds: window.resetSeconds,
    retryAfterSeconds: window.retryAfterSeconds,
    tokens,
    isFailOpen: false,
  };
}

/** The tightest bucket of each kind, reported untouched: `remaining = limit`. */
function failOpenDecision(plan: RateLimitPlan, window: FixedWindow): RateLimitDecision {
  const limit = Math.min(...plan.requests.map((bucket) => bucket.limit));
  const tokenLimit =
    plan.tokens.length > 0 ? Math.min(...plan.tokens.map((bucket) => bucket.limit)) : undefined;
  return {
    allowed: true,
    refusal: undefined,
    limit,
    remaining: limit,
    resetSeconds: window.resetSeconds,
    retryAfterSeconds: window.retryAfterSeconds,
    tokens:
      tokenLimit === undefined
        ? undefined
        : { limit: tokenLimit, remaining: tokenLimit, resetSeconds: window.resetSeconds },
    isFailOpen: true,
  };
}
