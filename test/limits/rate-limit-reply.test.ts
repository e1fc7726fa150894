import { describe, expect, it } from 'vitest';
import { toRateLimitError, toRateLimitHeaders } from '#src/limits/rate-limit-reply.js';
import type { RateLimitDecision } from '#src/limits/rate-limiter.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

const allowed: RateLimitDecision = {
  allowed: true,
  refusal: undefined,
  limit: 600,
  remaining: 599,
  resetSeconds: 1_700_000_100,
  retryAfterSeconds: 45,
  tokens: undefined,
  isFailOpen: false,
};

describe('toRateLimitHeaders', () => {
  it('sends limit, remaining and reset in Unix seconds, without Retry-After when allowed', () => {
    expect(toRateLimitHeaders(allowed)).toEqual({
      'x-ratelimit-limit': '600',
      'x-ratelimit-remaining': '599',
      'x-ratelimit-reset': '1700000100',
    });
  });

  it('adds Retry-After on refusal', () => {
    const refused = { ...allowed, allowed: false, refusal: 'rate_limit_exceeded', remaining: 0 } as const;
    expect(toRateLimitHeaders(refused)).toEqual({
      'x-ratelimit-limit': '600',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1700000100',
      'retry-after': '45',
    });
  });

  it('adds the token headers when a token limit applies', () => {
    const withTokens = { ...allowed, tokens: { limit: 10_000, remaining: 0, resetSeconds: 1_700_000_100 } };
    expect(toRateLimitHeaders(withTokens)).toMatchObject({
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '1700000100',
    });
  });

  it('sends nothing for an identity that is not limited', () => {
    expect(toRateLimitHeaders(undefined)).toEqual({});
  });
});

describe('toRateLimitError', () => {
  it('is the 429 rate_limit_exceeded envelope with Retry-After', () => {
    const error = toRateLimitError({ ...allowed, allowed: false, refusal: 'rate_limit_exceeded' });
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(45);
    const envelope = error.toEnvelope();
    assertOpenAiSchema('ErrorResponse', envelope);
    expect(envelope).toEqual({
      error: {
        message: 'rate limit exceeded',
        type: 'rate_limit_error',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
  });

  it('uses the token message but the same wire code for the token limit', () => {
    const error = toRateLimitError({ ...allowed, allowed: false, refusal: 'token_rate_limit_exceeded' });
    expect(error.status).toBe(429);
    expect(error.toEnvelope().error).toEqual({
      message: 'token rate limit exceeded',
      type: 'rate_limit_error',
      param: null,
      code: 'rate_limit_exceeded',
    });
  });
});
