import { describe, expect, it, vi } from 'vitest';
import type { RateLimitSubject } from '#src/auth/rate-limit-subject.js';
import { createRateLimiter } from '#src/limits/create-rate-limiter.js';
import type { RateLimitBackend } from '#src/limits/rate-limit-backend.js';
import { createMetrics } from '#src/telemetry/metrics.js';
import { FakeClock } from './fake-clock.js';

const config = { windowSeconds: 60, orgLimit: 600, anonymousLimit: 2, timeoutMs: 50, redisUrl: undefined };

const downBackend: RateLimitBackend = {
  hit: () => Promise.reject(new Error('ECONNREFUSED')),
  addTokens: () => Promise.reject(new Error('ECONNREFUSED')),
  readTokens: () => Promise.reject(new Error('ECONNREFUSED')),
  close: async () => {},
};

describe('createRateLimiter', () => {
  it('counts in memory when no Redis URL is configured', async () => {
    const limiter = await createRateLimiter({
      config,
      clock: new FakeClock(1_700_000_040_000),
      metrics: createMetrics(),
      logger: { warn: vi.fn() },
    });
    const decisions = [];
    for (let index = 0; index < 3; index++)
      decisions.push(await limiter.check({ kind: 'anonymous' }, '192.0.2.1'));
    expect(decisions.map((decision) => decision?.allowed)).toEqual([true, true, false]);
    await limiter.close();
  });

  it('counts fail-opens in maniac_ratelimit_fail_open_total and logs once per interval', async () => {
    const metrics = createMetrics();
    const warn = vi.fn();
    const limiter = await createRateLimiter({
      config,
      clock: new FakeClock(1_700_000_040_000),
      metrics,
      logger: { warn },
      backend: downBackend,
    });
    for (let index = 0; index < 4; index++) await limiter.check({ kind: 'anonymous' }, '192.0.2.1');
    expect((await metrics.rateLimitFailOpen.get()).values[0].value).toBe(4);
    expect(warn).toHaveBeenCalledExactlyOnceWith(
      { error: 'ECONNREFUSED', failures: 1 },
      'rate limit backend failed; requests are allowed (fail open)',
    );
  });

  it("takes auth's RateLimitSubject as the identity", async () => {
    const limiter = await createRateLimiter({
      config,
      clock: new FakeClock(1_700_000_040_000),
      metrics: createMetrics(),
      logger: { warn: vi.fn() },
    });
    const subjects: RateLimitSubject[] = [
      { kind: 'exempt' },
      { kind: 'anonymous' },
      { kind: 'key', keyId: 'key_1' },
      {
        kind: 'organization',
        orgId: 'org_1',
        orgRateLimit: 10,
        orgTokenRateLimit: null,
        keyId: 'key_1',
        keyRateLimit: null,
        keyTokenRateLimit: null,
      },
    ];
    const limits = [];
    for (const subject of subjects) limits.push((await limiter.check(subject, '192.0.2.1'))?.limit);
    expect(limits).toEqual([undefined, 2, 600, 10]);
  });
});
