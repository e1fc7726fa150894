import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '#src/auth/api-key.js';
import { bearer, createAuthFixture } from './authenticator-fixture.js';

describe('generateApiKey', () => {
  it('makes mk_live_ + 32 base62 characters, its SHA-256 hex and a 12-character prefix', () => {
    const { key, hash, prefix } = generateApiKey();
    expect(key).toMatch(/^mk_live_[0-9A-Za-z]{32}$/);
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(prefix).toBe(key.slice(0, 12));
    expect(prefix).toHaveLength(12);
  });

  it('never repeats itself', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey().key));
    expect(keys.size).toBe(1000);
  });

  it('draws on the whole base62 alphabet', () => {
    const seen = new Set(
      Array.from({ length: 200 }, () => generateApiKey().key.slice(8))
        .join('')
        .split(''),
    );
    expect(seen.size).toBe(62);
  });
});

describe('hashApiKey', () => {
  it('hashes any bearer string, so imported keys of other formats authenticate', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const imported = 'sk-legacy-0123456789';
    const { hash, row } = apiKeys.add();
    apiKeys.rows.delete(hash);
    apiKeys.rows.set(hashApiKey(imported), row);
    expect(hashApiKey(imported)).toBe(createHash('sha256').update(imported).digest('hex'));
    expect(authenticator.verdict(await authenticator.lookup(bearer(imported))).keyId).toBe(row.id);
    expect(apiKeys.calls).toEqual([hashApiKey(imported)]);
  });
});
