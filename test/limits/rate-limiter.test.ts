import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimitBackend } from '#src/limits/memory-rate-limit-backend.js';
import type { RateLimitBackend } from '#src/limits/rate-limit-backend.js';
import type { RateLimitIdentity } from '#src/limits/rate-limit-identity.js';
import { RateLimiter, type RateLimiterOptions, RateLimitTimeoutError } from '#src/limits/rate-limiter.js';
import { FakeClock } from './fake-clock.js';

// 1_700_000_040 s is a multiple of 60: the start of a window.
const windowStartMs = 1_700_000_040_000;

function makeLimiter(overrides: Partial<RateLimiterOptions> = {}) {
  const clock = new FakeClock(windowStartMs + 15_000);
  const limiter = new RateLimiter({
    windowSeconds: 60,
    orgLimit: 5,
    anonymousLimit: 3,
    timeoutMs: 50,
    backend: new MemoryRateLimitBackend(),
    clock,
    ...overrides,
  });
  return { clock, limiter };
}

type OrganizationIdentity = Extract<RateLimitIdentity, { kind: 'organization' }>;

function orgKey(overrides: Partial<OrganizationIdentity> = {}): OrganizationIdentity {
  return {
    kind: 'organization',
    orgId: 'org_1',
    orgRateLimit: null,
    orgTokenRateLimit: null,
    keyId: 'key_1',
    keyRateLimit: null,
    keyTokenRateLimit: null,
    ...overrides,
  };
}

const anonymous: RateLimitIdentity = { kind: 'anonymous' };
const clientIp = '198.51.100.9';

async function checkTimes(limiter: RateLimiter, identity: RateLimitIdentity, times: number, ip = clientIp) {
  const decisions = [];
  for (let index = 0; index < times; index++) decisions.push(await limiter.check(identity, ip));
  return decisions;
}

describe('RateLimiter windows', () => {
  it('counts down within the window, refuses past the limit and resets at the window end', async () => {
    const { limiter } = makeLimiter();
    const decisions = await checkTimes(limiter, anonymous, 4);
    expect(decisions.map((decision) => decision?.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((decision) => decision?.remaining)).toEqual([2, 1, 0, 0]);
    expect(decisions[3]).toMatchObject({
      limit: 3,
      refusal: 'rate_limit_exceeded',
      resetSeconds: 1_700_000_100,
      retryAfterSeconds: 45,
      isFailOpen: false,
    });
  });

  it('rolls over to fresh counts in the next window', async () => {
    const { clock, limiter } = makeLimiter();
    await checkTimes(limiter, anonymous, 5);
    clock.advance(44_999);
    expect(await limiter.check(anonymous, clientIp)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(1);
    expect(await limiter.check(anonymous, clientIp)).toMatchObject({
      allowed: true,
      remaining: 2,
      resetSeconds: 1_700_000_160,
      retryAfterSeconds: 60,
    });
  });

  it('keeps separate counts per client address', async () => {
    const { limiter } = makeLimiter();
    await checkTimes(limiter, anonymous, 3);
    expect(await limiter.check(anonymous, '198.51.100.10')).toMatchObject({
      allowed: true,
      remaining: 2,
    });
  });
});

describe('RateLimiter identities', () => {
  it('does not limit the internal key (exempt) and does not touch the backend', async () => {
    const backend = new MemoryRateLimitBackend();
    const { limiter } = makeLimiter({ backend });
    expect(await limiter.check({ kind: 'exempt' }, clientIp)).toBeUndefined();
    expect(backend.size).toBe(0);
  });

  it('limits a key with an organization by the organization, default orgLimit', async () => {
    const { limiter } = makeLimiter();
    const decisions = await checkTimes(limiter, orgKey(), 6);
    expect(decisions.map((decision) => decision?.allowed)).toEqual([true, true, true, true, true, false]);
    expect(decisions[0]).toMatchObject({ limit: 5, remaining: 4 });
  });

  it("uses the organization's own limit and shares it between its keys", async () => {
    const { limiter } = makeLimiter();
    await checkTimes(limiter, orgKey({ keyId: 'key_a', orgRateLimit: 3 }), 2);
    expect(await limiter.check(orgKey({ keyId: 'key_b', orgRateLimit: 3 }), clientIp)).toMatchObject({
      limit: 3,
      remaining: 0,
      allowed: true,
    });
    expect(await limiter.check(orgKey({ keyId: 'key_c', orgRateLimit: 3 }), clientIp)).toMatchObject({
      allowed: false,
    });
  });

  it('adds the key bucket when the key has a limit and reports the one with least remaining', async () => {
    const { limiter } = makeLimiter();
    const limitedKey = orgKey({ keyRateLimit: 2 });
    expect(await limiter.check(limitedKey, clientIp)).toMatchObject({ limit: 2, remaining: 1 });
    expect(await limiter.check(limitedKey, clientIp)).toMatchObject({
      limit: 2,
      remaining: 0,
      allowed: true,
    });
    expect(await limiter.check(limitedKey, clientIp)).toMatchObject({ limit: 2, allowed: false });
    // The refused request still counted against the organization: 3 of 5 used.
    expect(await limiter.check(orgKey({ keyId: 'key_2' }), clientIp)).toMatchObject({
      limit: 5,
      remaining: 1,
    });
  });

  it('reports the organization when it has less remaining than the key', async () => {
    const { limiter } = makeLimiter();
    expect(await limiter.check(orgKey({ keyRateLimit: 100, orgRateLimit: 4 }), clientIp)).toMatchObject({
      limit: 4,
      remaining: 3,
    });
  });

  it('limits a key without organization by orgLimit on its own bucket', async () => {
    const { limiter } = makeLimiter();
    const orphan: RateLimitIdentity = { kind: 'key', keyId: 'key_orphan' };
    const decisions = await checkTimes(limiter, orphan, 6);
    expect(decisions.map((decision) => decision?.limit)).toEqual([5, 5, 5, 5, 5, 5]);
    expect(decisions[5]).toMatchObject({ allowed: false });
  });
});

describe('RateLimiter token limits', () => {
  it('checks without reserving and refuses once the window count reached the limit', async () => {
    const { clock, limiter } = makeLimiter({ orgLimit: 100 });
    const identity = orgKey({ orgTokenRateLimit: 1_000 });
    expect(await limiter.check(identity, clientIp)).toMatchObject({
      allowed: true,
      tokens: { limit: 1_000, remaining: 1_000, resetSeconds: 1_700_000_100 },
    });
    await limiter.recordTokens(identity, 999);
    expect(await limiter.check(identity, clientIp)).toMatchObject({
      allowed: true,
      tokens: { remaining: 1 },
    });
    // One request may overshoot the window by its own size.
    await limiter.recordTokens(identity, 5_000);
    expect(await limiter.check(identity, clientIp)).toMatchObject({
      allowed: false,
      refusal: 'token_rate_limit_exceeded',
      remaining: 97,
      tokens: { limit: 1_000, remaining: 0 },
      retryAfterSeconds: 45,
    });
    clock.advance(45_000);
    expect(await limiter.check(identity, clientIp)).toMatchObject({
      allowed: true,
      tokens: { remaining: 1_000 },
    });
  });

  it('reports the token bucket with least remaining, key or organization', async () => {
    const { limiter } = makeLimiter({ orgLimit: 100 });
    const identity = orgKey({ keyTokenRateLimit: 300, orgTokenRateLimit: 1_000 });
    await limiter.recordTokens(identity, 200);
    expect((await limiter.check(identity, clientIp))?.tokens).toEqual({
      limit: 300,
      remaining: 100,
      resetSeconds: 1_700_000_100,
    });
    // Another key of the same organization without a key limit sees the organization's count.
    expect(
      (await limiter.check(orgKey({ keyId: 'key_2', orgTokenRateLimit: 1_000 }), clientIp))?.tokens,
    ).toMatchObject({
      limit: 1_000,
      remaining: 800,
    });
  });

  it('prefers the request-limit refusal when both are exhausted', async () => {
    const { limiter } = makeLimiter({ orgLimit: 1 });
    const identity = orgKey({ orgTokenRateLimit: 10 });
    await limiter.recordTokens(identity, 10);
    expect(await limiter.check(identity, clientIp)).toMatchObject({ refusal: 'token_rate_limit_exceeded' });
    expect(await limiter.check(identity, clientIp)).toMatchObject({ refusal: 'rate_limit_exceeded' });
  });

  it('has no token state without a token limit and ignores empty usage', async () => {
    const backend = new MemoryRateLimitBackend();
    const { limiter } = makeLimiter({ backend });
    expect((await limiter.check(orgKey(), clientIp))?.tokens).toBeUndefined();
    await limiter.recordTokens(orgKey({ orgTokenRateLimit: 10 }), 0);
    await limiter.recordTokens(anonymous, 50);
    expect(await backend.readTokens(['org:org_1', 'ip:198.51.100.9'], 1_700_000_040)).toEqual([0, 0]);
  });
});

function failingBackend(error: Error): RateLimitBackend {
  return {
    hit: async () => {
      throw error;
    },
    addTokens: async () => {
      throw error;
    },
    readTokens: async () => {
      throw error;
    },
    close: async () => {},
  };
}

describe('RateLimiter fail-open policy', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('allows with remaining = limit and calls the hook when the backend fails', async () => {
    const failure = new Error('connection refused');
    const onFailOpen = vi.fn();
    const { limiter } = makeLimiter({ backend: failingBackend(failure), onFailOpen });
    const decision = await limiter.check(orgKey({ keyRateLimit: 2, orgTokenRateLimit: 70 }), clientIp);
    expect(decision).toEqual({
      allowed: true,
      refusal: undefined,
      limit: 2,
      remaining: 2,
      resetSeconds: 1_700_000_100,
      retryAfterSeconds: 45,
      tokens: { limit: 70, remaining: 70, resetSeconds: 1_700_000_100 },
      isFailOpen: true,
    });
    expect(onFailOpen).toHaveBeenCalledExactlyOnceWith(failure);
    expect(limiter.health).toBe('degraded');
  });

  it('allows when the backend is slower than timeoutMs, and clears its timer either way', async () => {
    vi.useFakeTimers();
    const onFailOpen = vi.fn();
    const hanging: RateLimitBackend = {
      ...failingBackend(new Error('unused')),
      hit: () => new Promise<number[]>(() => {}),
    };
    const { limiter } = makeLimiter({ backend: hanging, onFailOpen });
    const pending = limiter.check(anonymous, clientIp);
    await vi.advanceTimersByTimeAsync(49);
    expect(onFailOpen).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(await pending).toMatchObject({ allowed: true, limit: 3, remaining: 3, isFailOpen: true });
    expect(onFailOpen.mock.calls[0][0]).toBeInstanceOf(RateLimitTimeoutError);

    const { limiter: healthy } = makeLimiter();
    expect(await healthy.check(anonymous, clientIp)).toMatchObject({ isFailOpen: false });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('races no timer against the in-process backend', async () => {
    vi.useFakeTimers();
    const { limiter } = makeLimiter({ backend: new MemoryRateLimitBackend() });
    const pending = limiter.check(anonymous, clientIp);
    expect(vi.getTimerCount()).toBe(0);
    expect(await pending).toMatchObject({ allowed: true, isFailOpen: false });
  });

  it('recovers its health once the backend answers again', async () => {
    let shouldFail = true;
    const memory = new MemoryRateLimitBackend();
    const flaky: RateLimitBackend = {
      hit: (buckets, start, windowSeconds) =>
        shouldFail ? Promise.reject(new Error('down')) : memory.hit(buckets, start, windowSeconds),
      readTokens: (keys, start) => memory.readTokens(keys, start),
      addTokens: (key, tokens, start, windowSeconds) => memory.addTokens(key, tokens, start, windowSeconds),
      close: () => memory.close(),
    };
    const { limiter } = makeLimiter({ backend: flaky });
    await limiter.check(anonymous, clientIp);
    expect(limiter.health).toBe('degraded');
    shouldFail = false;
    expect(await limiter.check(anonymous, clientIp)).toMatchObject({ isFailOpen: false, remaining: 2 });
    expect(limiter.health).toBe('ok');
  });

  it('counts every failure but logs at most once per interval', async () => {
    const onFailOpen = vi.fn();
    const onFailureLog = vi.fn();
    const { clock, limiter } = makeLimiter({
      backend: failingBackend(new Error('down')),
      onFailOpen,
      onFailureLog,
      failureLogIntervalMs: 10_000,
    });
    await checkTimes(limiter, anonymous, 5);
    expect(onFailOpen).toHaveBeenCalledTimes(5);
    expect(onFailureLog).toHaveBeenCalledExactlyOnceWith({ error: new Error('down'), failures: 1 });
    clock.advance(9_999);
    await limiter.check(anonymous, clientIp);
    expect(onFailureLog).toHaveBeenCalledTimes(1);
    clock.advance(1);
    await limiter.recordTokens(orgKey({ orgTokenRateLimit: 5 }), 10);
    expect(onFailureLog).toHaveBeenCalledTimes(2);
    expect(onFailureLog.mock.calls[1][0]).toMatchObject({ failures: 6 });
    expect(onFailOpen).toHaveBeenCalledTimes(6);
  });

  it('never rejects from recordTokens', async () => {
    const { limiter } = makeLimiter({ backend: failingBackend(new Error('down')) });
    await expect(limiter.recordTokens(orgKey({ orgTokenRateLimit: 5 }), 10)).resolves.toBeUndefined();
    expect(limiter.health).toBe('degraded');
  });
});
