import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixedWindowAt } from '#src/limits/fixed-window.js';
import { RateLimiter } from '#src/limits/rate-limiter.js';
import { RedisRateLimitBackend } from '#src/limits/redis-rate-limit-backend.js';
import { FakeClock } from './fake-clock.js';

// Runs against a real Redis: CI provides one; locally `redis-server` or TEST_REDIS_URL.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `mgw-test:${process.pid}-${randomUUID()}:`;
const nowMs = 1_700_000_055_000;
const windowStart = fixedWindowAt(nowMs, 60).startSeconds;

/** A client as `RedisRateLimitBackend.connect` makes it, but awaited until ready. */
async function connectedClient(): Promise<Redis> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${redisUrl} (set TEST_REDIS_URL): ${String(error)}`);
  }
  return client;
}

let admin: Redis;
const backends: RedisRateLimitBackend[] = [];

async function newBackend(): Promise<RedisRateLimitBackend> {
  const backend = new RedisRateLimitBackend(await connectedClient(), { keyPrefix });
  backends.push(backend);
  return backend;
}

function limiterOn(backend: RedisRateLimitBackend, anonymousLimit: number): RateLimiter {
  return new RateLimiter({
    windowSeconds: 60,
    orgLimit: 600,
    anonymousLimit,
    // Generous: this suite is about counting; a fail-open here would show as too many allowed.
    timeoutMs: 5_000,
    backend,
    clock: new FakeClock(nowMs),
  });
}

beforeAll(async () => {
  admin = await connectedClient();
});

afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1_000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

describe('RedisRateLimitBackend', () => {
  it('lets exactly the limit through across two gateway processes hitting it concurrently', async () => {
    const first = limiterOn(await newBackend(), 10);
    const second = limiterOn(await newBackend(), 10);
    const decisions = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        (index % 2 === 0 ? first : second).check({ kind: 'anonymous' }, '203.0.113.50'),
      ),
    );
    expect(decisions.filter((decision) => decision?.isFailOpen)).toEqual([]);
    expect(decisions.filter((decision) => decision?.allowed)).toHaveLength(10);
    expect(decisions.map((decision) => decision?.remaining).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
      ...Array<number>(41).fill(0),
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
    ]);
  });

  it('counts all buckets of a request in one atomic step', async () => {
    const [first, second] = [await newBackend(), await newBackend()];
    const buckets = [
      { key: 'org:atomic', limit: 600 },
      { key: 'key:atomic', limit: 600 },
    ];
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) => (index % 2 ? first : second).hit(buckets, windowStart, 60)),
    );
    for (const [orgCount, keyCount] of results) expect(orgCount).toBe(keyCount);
    expect(results.map(([orgCount]) => orgCount).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, index) => index + 1),
    );
  });

  it('names keys mgw:rl:<bucket>:<window_start> and lets them expire', async () => {
    const limiter = limiterOn(await newBackend(), 60);
    await limiter.check({ kind: 'anonymous' }, '203.0.113.51');
    const key = `${keyPrefix}rl:ip:203.0.113.51:${windowStart}`;
    expect(await admin.get(key)).toBe('1');
    const ttl = await admin.ttl(key);
    expect(ttl).toBeGreaterThan(60);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('starts a new count in the next window', async () => {
    const backend = await newBackend();
    const bucket = [{ key: 'ip:203.0.113.52', limit: 60 }];
    await backend.hit(bucket, windowStart, 60);
    expect(await backend.hit(bucket, windowStart, 60)).toEqual([2]);
    expect(await backend.hit(bucket, windowStart + 60, 60)).toEqual([1]);
  });

  it('loads the script again after Redis forgot it', async () => {
    const backend = await newBackend();
    await admin.script('FLUSH');
    expect(await backend.hit([{ key: 'ip:203.0.113.53', limit: 60 }], windowStart, 60)).toEqual([1]);
    expect(await backend.hit([{ key: 'ip:203.0.113.53', limit: 60 }], windowStart, 60)).toEqual([2]);
  });

  it('shares token counts between processes in their own key family', async () => {
    const [first, second] = [await newBackend(), await newBackend()];
    await first.addTokens('org:tokens', 700, windowStart, 60);
    await second.addTokens('org:tokens', 400, windowStart, 60);
    expect(await first.readTokens(['org:tokens', 'org:none'], windowStart)).toEqual([1_100, 0]);
    expect(await first.readTokens(['org:tokens'], windowStart + 60)).toEqual([0]);
    expect(await admin.ttl(`${keyPrefix}rlt:org:tokens:${windowStart}`)).toBeGreaterThan(60);
    expect(await admin.exists(`${keyPrefix}rl:org:tokens:${windowStart}`)).toBe(0);
  });

  it('enforces a token limit shared by two processes', async () => {
    const first = limiterOn(await newBackend(), 60);
    const second = limiterOn(await newBackend(), 60);
    const identity = {
      kind: 'organization',
      orgId: 'org_tokens',
      orgRateLimit: null,
      orgTokenRateLimit: 1_000,
      keyId: 'key_tokens',
      keyRateLimit: null,
      keyTokenRateLimit: null,
    } as const;
    await first.recordTokens(identity, 1_000);
    expect(await second.check(identity, '203.0.113.55')).toMatchObject({
      allowed: false,
      refusal: 'token_rate_limit_exceeded',
      tokens: { limit: 1_000, remaining: 0 },
    });
  });

  it('fails open at once when Redis is unreachable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const backend = RedisRateLimitBackend.connect(`redis://127.0.0.1:${closedPort}`, {
      keyPrefix,
      connectTimeoutMs: 200,
      retryStrategy: () => null,
    });
    backends.push(backend);
    const onFailOpen = vi.fn();
    const limiter = new RateLimiter({
      windowSeconds: 60,
      orgLimit: 600,
      anonymousLimit: 60,
      timeoutMs: 50,
      backend,
      clock: new FakeClock(nowMs),
      onFailOpen,
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(await limiter.check({ kind: 'anonymous' }, '203.0.113.54')).toMatchObject({
        allowed: true,
        limit: 60,
        remaining: 60,
        isFailOpen: true,
      });
    }
    expect(onFailOpen).toHaveBeenCalledTimes(3);
    expect(limiter.health).toBe('degraded');
  });
});
