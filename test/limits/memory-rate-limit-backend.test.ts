import { describe, expect, it } from 'vitest';
import { MemoryRateLimitBackend, RateLimitCapacityError } from '#src/limits/memory-rate-limit-backend.js';

describe('MemoryRateLimitBackend', () => {
  it('counts per bucket and window', async () => {
    const backend = new MemoryRateLimitBackend();
    const buckets = [
      { key: 'org:a', limit: 5 },
      { key: 'key:a', limit: 2 },
    ];
    expect(await backend.hit(buckets, 60, 60)).toEqual([1, 1]);
    expect(await backend.hit(buckets, 60, 60)).toEqual([2, 2]);
    expect(await backend.hit([{ key: 'org:a', limit: 5 }], 60, 60)).toEqual([3]);
    expect(await backend.hit(buckets, 120, 60)).toEqual([1, 1]);
  });

  it('keeps only running windows however many have passed', async () => {
    const backend = new MemoryRateLimitBackend();
    for (let window = 0; window < 1_000; window++) {
      const start = window * 60;
      for (let client = 0; client < 20; client++) {
        await backend.hit([{ key: `ip:10.0.${window}.${client}`, limit: 60 }], start, 60);
        await backend.addTokens(`org:${client}`, 10, start, 60);
      }
      expect(backend.size).toBeLessThanOrEqual(40);
    }
    expect(await backend.readTokens(['org:0'], 999 * 60)).toEqual([10]);
    expect(await backend.readTokens(['org:0'], 1_000 * 60)).toEqual([0]);
    expect(backend.size).toBe(20);
  });

  it('refuses new buckets beyond the per-window cap but keeps counting known ones', async () => {
    const backend = new MemoryRateLimitBackend({ maxBucketsPerWindow: 3 });
    for (const key of ['ip:1', 'ip:2', 'ip:3']) await backend.hit([{ key, limit: 9 }], 0, 60);
    await expect(backend.hit([{ key: 'ip:4', limit: 9 }], 0, 60)).rejects.toBeInstanceOf(
      RateLimitCapacityError,
    );
    await expect(
      backend.hit(
        [
          { key: 'ip:1', limit: 9 },
          { key: 'ip:5', limit: 9 },
        ],
        0,
        60,
      ),
    ).rejects.toBeInstanceOf(RateLimitCapacityError);
    expect(await backend.hit([{ key: 'ip:1', limit: 9 }], 0, 60)).toEqual([2]);
    expect(backend.size).toBe(3);
    expect(await backend.hit([{ key: 'ip:4', limit: 9 }], 60, 60)).toEqual([1]);
  });

  it('keeps token counts apart from request counts', async () => {
    const backend = new MemoryRateLimitBackend();
    await backend.addTokens('org:a', 70, 0, 60);
    await backend.addTokens('org:a', 30, 0, 60);
    expect(await backend.readTokens(['org:a', 'key:b'], 0)).toEqual([100, 0]);
    expect(await backend.hit([{ key: 'org:a', limit: 5 }], 0, 60)).toEqual([1]);
  });
});
