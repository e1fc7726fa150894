import { GatewayError } from '../errors/gateway-error.js';
import type { RateLimitDecision } from './rate-limiter.js';

/**
 * The `x-ratelimit-*` headers every `/v1` response carries (SPEC §7), plus `retry-after` when the
 * request is refused. `undefined` (the internal key) carries none. Token headers use the same units as
 * the request ones: a count, and the window end in Unix seconds.
 */
export function toRateLimitHeaders(decision: RateLimitDecision | undefined): Record<string, string> {
  if (decision === undefined) return {};
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(decision.resetSeconds),
  };
  if (decision.tokens !== undefined) {
    headers['x-ratelimit-limit-tokens'] = String(decision.tokens.limit);
    headers['x-ratelimit-remaining-tokens'] = String(decision.tokens.remaining);
    headers['x-ratelimit-reset-tokens'] = String(decision.tokens.resetSeconds);
  }
  if (!decision.allowed) headers['retry-after'] = String(decision.retryAfterSeconds);
  return headers;
}

/** The 429 for a refused decision; `retryAfterSeconds` makes the error handler send `Retry-After`. */
export function toRateLimitError(decision: RateLimitDecision): GatewayError {
  return new GatewayError(
    decision.refusal ?? 'rate_limit_exceeded',
    {},
    {
      retryAfterSeconds: decision.retryAfterSeconds,
    },
  );
}
