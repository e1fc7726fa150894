import { describe, expect, it } from 'vitest';
import { createInternalKeyAuthenticator, isSameSecret, sha256 } from '#src/auth/internal-key.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import { bearer, createAuthFixture, internalKey, resolveAcme } from './authenticator-fixture.js';

const internalPrincipal = {
  keyId: 'internal',
  orgId: 'internal',
  projectId: 'internal',
  isInternal: true,
  keyRateLimit: null,
  keyTokenRateLimit: null,
  orgRateLimit: null,
  orgTokenRateLimit: null,
};

function rejectionOf(verdict: () => unknown): GatewayError {
  try {
    verdict();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected the verdict to reject');
}

describe('internal service key', () => {
  it('authenticates as the built-in org `internal` without touching the key store', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const result = await authenticator.lookup(bearer(internalKey));
    expect(result.kind).toBe('internal');
    expect(authenticator.verdict(result)).toEqual(internalPrincipal);
    expect(apiKeys.calls).toHaveLength(0);
    expect(authenticator.drainUsedKeys()).toEqual([]);
  });

  it.each([
    ['the last character changed', `${internalKey.slice(0, -1)}${internalKey.endsWith('j') ? 'k' : 'j'}`],
    ['the first character changed', `X${internalKey.slice(1)}`],
    ['a prefix of it', internalKey.slice(0, -1)],
    ['it with a character appended', `${internalKey}0`],
  ])('rejects %s as an ordinary unknown key', async (_name, candidate) => {
    const { authenticator, apiKeys } = createAuthFixture();
    const result = await authenticator.lookup(bearer(candidate));
    expect(result.kind).toBe('unknown');
    expect(rejectionOf(() => authenticator.verdict(result)).code).toBe('invalid_api_key');
    expect(apiKeys.calls).toHaveLength(1);
  });

  it('is not recognised when none is configured', async () => {
    const { authenticator } = createAuthFixture({
      auth: {
        internalKey: undefined,
        cacheTtlSeconds: 5,
        negativeCacheTtlSeconds: 5,
        staleIfErrorSeconds: 300,
      },
    });
    expect((await authenticator.lookup(bearer(internalKey))).kind).toBe('unknown');
  });

  it('compares fixed-length digests', () => {
    expect(isSameSecret(sha256(internalKey), sha256(internalKey))).toBe(true);
    expect(isSameSecret(sha256(internalKey), sha256(`${internalKey} `))).toBe(false);
  });

  it('keeps the single-phase authenticator used by app.ts working', () => {
    const authenticate = createInternalKeyAuthenticator(internalKey);
    expect(authenticate(bearer(internalKey)).isInternal).toBe(true);
    expect(() => authenticate(bearer(`${internalKey.slice(0, -1)}x`))).toThrow(
      expect.objectContaining({ code: 'invalid_api_key' }),
    );
    expect(() => authenticate(undefined)).toThrow(expect.objectContaining({ code: 'missing_api_key' }));
  });
});

describe('attribution headers', () => {
  it.each([
    ['org id', { 'x-maniac-org': 'org_acme' }, 'proj_acme_default'],
    ['org name', { 'x-maniac-org': 'acme' }, 'proj_acme_default'],
    ['org and project', { 'x-maniac-org': 'acme', 'x-maniac-project': 'proj_main' }, 'proj_main'],
    ['project alone', { 'x-maniac-project': 'proj_main' }, 'proj_main'],
  ])('attribute the internal key by %s', async (_name, headers, projectId) => {
    const { authenticator } = createAuthFixture();
    const principal = authenticator.verdict(await authenticator.lookup(bearer(internalKey), headers));
    expect(principal).toEqual({ ...internalPrincipal, orgId: 'org_acme', projectId });
  });

  it.each([
    ['an unknown org', { 'x-maniac-org': 'globex' }, 'x-maniac-org', 'no such organization'],
    [
      'an unknown org with a project',
      { 'x-maniac-org': 'globex', 'x-maniac-project': 'proj_main' },
      'x-maniac-org',
      'no such organization',
    ],
    [
      'an unknown project',
      { 'x-maniac-org': 'acme', 'x-maniac-project': 'proj_x' },
      'x-maniac-project',
      'no such project',
    ],
    ['an unknown project alone', { 'x-maniac-project': 'proj_x' }, 'x-maniac-project', 'no such project'],
  ])('answer 400 invalid_value naming the header for %s', async (_name, headers, param, reason) => {
    const { authenticator } = createAuthFixture();
    const result = await authenticator.lookup(bearer(internalKey), headers);
    expect(result.kind).toBe('internal');
    const error = rejectionOf(() => authenticator.verdict(result));
    expect(error.status).toBe(400);
    expect(error.toEnvelope()).toEqual({
      error: {
        message: `Invalid value for '${param}': ${reason}.`,
        type: 'invalid_request_error',
        param,
        code: 'invalid_value',
      },
    });
  });

  it('are ignored for ordinary keys', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key } = apiKeys.add();
    const principal = authenticator.verdict(
      await authenticator.lookup(bearer(key), { 'x-maniac-org': 'globex', 'x-maniac-project': 'proj_x' }),
    );
    expect(principal).toMatchObject({ orgId: 'org_acme', projectId: 'proj_main', isInternal: false });
  });

  it('are resolved once per TTL, stay usable while the store is down, then fail closed', async () => {
    const calls: unknown[] = [];
    let isDown = false;
    const { authenticator, clock, storeErrors } = createAuthFixture({
      resolveInternalAttribution: async (org, project) => {
        calls.push([org, project]);
        if (isDown) throw new Error('down');
        return resolveAcme(org, project);
      },
    });
    const headers = { 'x-maniac-org': 'acme' };
    const attribute = async () =>
      authenticator.verdict(await authenticator.lookup(bearer(internalKey), headers));
    await Promise.all([attribute(), attribute()]);
    clock.advance(4_999);
    await attribute();
    expect(calls).toHaveLength(1);

    isDown = true;
    clock.advance(1);
    expect((await attribute()).orgId).toBe('org_acme');
    expect(storeErrors).toHaveLength(1);
    clock.advance(300_000);
    const result = await authenticator.lookup(bearer(internalKey), headers);
    expect(rejectionOf(() => authenticator.verdict(result)).code).toBe('auth_unavailable');
  });

  it('fail closed when the store is down and nothing is cached', async () => {
    const { authenticator } = createAuthFixture({
      resolveInternalAttribution: async () => {
        throw new Error('down');
      },
    });
    const result = await authenticator.lookup(bearer(internalKey), { 'x-maniac-org': 'acme' });
    expect(rejectionOf(() => authenticator.verdict(result))).toMatchObject({
      status: 503,
      code: 'auth_unavailable',
    });
  });
});
