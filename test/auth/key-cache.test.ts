import { describe, expect, it } from 'vitest';
import { KeyAuthenticator } from '#src/auth/key-authenticator.js';
import type { ApiKeyRepository } from '#src/store/repositories.js';
import { bearer, createAuthFixture, resolveAcme } from './authenticator-fixture.js';
import { ManualClock } from './manual-clock.js';

const ttlMs = 5_000;
const staleIfErrorMs = 300_000;

describe('positive cache', () => {
  it('serves a valid key without a store call for cacheTtlSeconds, then asks again', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    const { key } = apiKeys.add();
    await authenticator.lookup(bearer(key));
    clock.advance(ttlMs - 1);
    const cached = await authenticator.lookup(bearer(key));
    expect(cached).toMatchObject({ kind: 'found', isStale: false });
    expect(apiKeys.calls).toHaveLength(1);
    clock.advance(1);
    await authenticator.lookup(bearer(key));
    expect(apiKeys.calls).toHaveLength(2);
  });

  it('measures the TTL on the monotonic clock, not the wall clock', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    const { key } = apiKeys.add();
    await authenticator.lookup(bearer(key));
    clock.stepWall(-3_600_000);
    clock.advance(ttlMs);
    await authenticator.lookup(bearer(key));
    expect(apiKeys.calls).toHaveLength(2);
  });

  it('evicts the least recently fetched key beyond its bound', async () => {
    const { authenticator, apiKeys } = createAuthFixture({ maxCachedKeys: 2 });
    const [first, second, third] = [apiKeys.add(), apiKeys.add(), apiKeys.add()];
    for (const { key } of [first, second, third]) await authenticator.lookup(bearer(key));
    expect(apiKeys.calls).toHaveLength(3);
    await authenticator.lookup(bearer(third.key));
    await authenticator.lookup(bearer(second.key));
    expect(apiKeys.calls).toHaveLength(3);
    await authenticator.lookup(bearer(first.key));
    expect(apiKeys.calls.at(-1)).toBe(first.hash);
  });

  it('keeps valid keys cached through a flood of unknown ones', async () => {
    const { authenticator, apiKeys } = createAuthFixture({ maxCachedKeys: 10 });
    const { key } = apiKeys.add();
    await authenticator.lookup(bearer(key));
    for (let index = 0; index < 50; index++) await authenticator.lookup(bearer(`mk_live_random${index}`));
    expect(apiKeys.calls).toHaveLength(51);
    await authenticator.lookup(bearer(key));
    expect(apiKeys.calls).toHaveLength(51);
  });
});

describe('negative cache', () => {
  it('remembers an unknown key for 5 s, then sees a key created meanwhile', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    const { key, hash, row } = apiKeys.add();
    apiKeys.rows.delete(hash);
    expect((await authenticator.lookup(bearer(key))).kind).toBe('unknown');
    apiKeys.rows.set(hash, row);
    clock.advance(ttlMs - 1);
    expect((await authenticator.lookup(bearer(key))).kind).toBe('unknown');
    expect(apiKeys.calls).toHaveLength(1);
    clock.advance(1);
    expect((await authenticator.lookup(bearer(key))).kind).toBe('found');
  });

  it('does not vouch for an unknown key once the store is down', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    await authenticator.lookup(bearer('mk_live_nobody'));
    clock.advance(ttlMs);
    apiKeys.failure = new Error('down');
    expect((await authenticator.lookup(bearer('mk_live_nobody'))).kind).toBe('store_unavailable');
  });
});

describe('stale-if-error (fail closed beyond it)', () => {
  it('keeps a cached key valid up to staleIfErrorSeconds past its TTL, then answers 503', async () => {
    const { authenticator, apiKeys, clock, storeErrors } = createAuthFixture();
    const { key } = apiKeys.add();
    await authenticator.lookup(bearer(key));
    apiKeys.failure = new Error('database is down');
    clock.advance(ttlMs);
    const stale = await authenticator.lookup(bearer(key));
    expect(stale).toMatchObject({ kind: 'found', isStale: true });
    expect(authenticator.verdict(stale).keyId).toBe('key_1');
    expect(storeErrors).toHaveLength(1);

    clock.advance(staleIfErrorMs - 1);
    expect(authenticator.verdict(await authenticator.lookup(bearer(key))).keyId).toBe('key_1');
    clock.advance(1);
    const expired = await authenticator.lookup(bearer(key));
    expect(expired.kind).toBe('store_unavailable');
    expect(() => authenticator.verdict(expired)).toThrow(
      expect.objectContaining({ status: 503, code: 'auth_unavailable' }),
    );
  });

  it('backs off the failing store for a second while serving the stale key', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    const { key } = apiKeys.add();
    await authenticator.lookup(bearer(key));
    apiKeys.failure = new Error('down');
    clock.advance(ttlMs);
    await authenticator.lookup(bearer(key));
    clock.advance(999);
    expect(await authenticator.lookup(bearer(key))).toMatchObject({ kind: 'found', isStale: true });
    expect(apiKeys.calls).toHaveLength(2);
    apiKeys.failure = undefined;
    clock.advance(1);
    expect(await authenticator.lookup(bearer(key))).toMatchObject({ kind: 'found', isStale: false });
    expect(apiKeys.calls).toHaveLength(3);
  });

  it('still refuses a stale key that expires during the outage', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    const { key } = apiKeys.add({ expiresAt: clock.now() + 60_000 });
    await authenticator.lookup(bearer(key));
    apiKeys.failure = new Error('down');
    clock.advance(60_000);
    const result = await authenticator.lookup(bearer(key));
    expect(result).toMatchObject({ kind: 'found', isStale: true });
    expect(() => authenticator.verdict(result)).toThrow(expect.objectContaining({ code: 'invalid_api_key' }));
  });

  it('never throws from lookup, even when the store throws synchronously', async () => {
    const throwing: Pick<ApiKeyRepository, 'findByHash'> = {
      findByHash: () => {
        throw new Error('driver bug');
      },
    };
    const authenticator = new KeyAuthenticator({
      apiKeys: throwing,
      clock: new ManualClock(),
      auth: {
        internalKey: undefined,
        cacheTtlSeconds: 5,
        negativeCacheTtlSeconds: 5,
        staleIfErrorSeconds: 300,
      },
      resolveInternalAttribution: resolveAcme,
    });
    expect((await authenticator.lookup(bearer('mk_live_x'))).kind).toBe('store_unavailable');
  });
});

describe('single flight', () => {
  it('shares one store call among concurrent lookups of an uncached key', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key } = apiKeys.add();
    apiKeys.isHolding = true;
    const lookups = Array.from({ length: 5 }, () => authenticator.lookup(bearer(key)));
    apiKeys.releaseAll();
    const results = await Promise.all(lookups);
    expect(apiKeys.calls).toHaveLength(1);
    for (const result of results) expect(authenticator.verdict(result).keyId).toBe('key_1');
  });

  it('shares a failure too, and does not cache it', async () => {
    const { authenticator, apiKeys, storeErrors } = createAuthFixture();
    const { key } = apiKeys.add();
    apiKeys.isHolding = true;
    apiKeys.failure = new Error('down');
    const lookups = Array.from({ length: 3 }, () => authenticator.lookup(bearer(key)));
    apiKeys.releaseAll();
    for (const result of await Promise.all(lookups)) expect(result.kind).toBe('store_unavailable');
    expect(storeErrors).toHaveLength(1);
    apiKeys.failure = undefined;
    expect((await authenticator.lookup(bearer(key))).kind).toBe('found');
  });
});

describe('invalidation', () => {
  it.each(['hash', 'key id', 'organization id'])('drops a cached key by its %s', async (by) => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key, hash, row } = apiKeys.add();
    await authenticator.lookup(bearer(key));
    row.revokedAt = 1;
    authenticator.invalidate(by === 'hash' ? hash : by === 'key id' ? row.id : 'org_acme');
    const result = await authenticator.lookup(bearer(key));
    expect(apiKeys.calls).toHaveLength(2);
    expect(() => authenticator.verdict(result)).toThrow(expect.objectContaining({ code: 'invalid_api_key' }));
  });

  it('leaves other keys cached', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const [first, second] = [apiKeys.add(), apiKeys.add()];
    await authenticator.lookup(bearer(first.key));
    await authenticator.lookup(bearer(second.key));
    authenticator.invalidate(first.row.id);
    await authenticator.lookup(bearer(second.key));
    expect(apiKeys.calls).toHaveLength(2);
  });

  it('does not let a store read from before the revocation refill the cache', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key, row } = apiKeys.add();
    apiKeys.isHolding = true;
    const before = authenticator.lookup(bearer(key));
    row.revokedAt = 1;
    authenticator.invalidate(row.id);
    const after = authenticator.lookup(bearer(key));
    expect(apiKeys.calls).toHaveLength(2);
    apiKeys.isHolding = false;
    apiKeys.held[1]?.();
    const afterResult = await after;
    apiKeys.held[0]?.();
    await before;
    expect(() => authenticator.verdict(afterResult)).toThrow(
      expect.objectContaining({ code: 'invalid_api_key' }),
    );
    const later = await authenticator.lookup(bearer(key));
    expect(apiKeys.calls).toHaveLength(2);
    expect(() => authenticator.verdict(later)).toThrow(expect.objectContaining({ code: 'invalid_api_key' }));
  });
});

describe('last_used_at collection', () => {
  it('drains the ids of keys that passed the verdict, once each', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const [first, second] = [apiKeys.add(), apiKeys.add()];
    const revoked = apiKeys.add({ revokedAt: 1 });
    for (const { key } of [first, first, second, revoked]) {
      const result = await authenticator.lookup(bearer(key));
      try {
        authenticator.verdict(result);
      } catch {
        // the revoked key is refused and must not count as used
      }
    }
    expect(authenticator.drainUsedKeys().sort()).toEqual([first.row.id, second.row.id]);
    expect(authenticator.drainUsedKeys()).toEqual([]);
  });
});
