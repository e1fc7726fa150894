import { describe, expect, it } from 'vitest';
import type { KeyLookupResult } from '#src/auth/key-lookup-result.js';
import { rateLimitSubjectOf } from '#src/auth/rate-limit-subject.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import { bearer, createAuthFixture, internalKey } from './authenticator-fixture.js';
import { organization } from './fake-api-keys.js';

function rejectionOf(verdict: () => unknown): { status: number; envelope: unknown } {
  try {
    verdict();
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { status: error.status, envelope: error.toEnvelope() };
  }
  throw new Error('expected the verdict to reject');
}

const envelope = (type: string, code: string, message: string) => ({
  error: { message, type, param: null, code },
});

const missingKey = envelope(
  'authentication_error',
  'missing_api_key',
  "Missing API key. Send it as 'Authorization: Bearer <key>'.",
);
const invalidKey = envelope('authentication_error', 'invalid_api_key', 'Invalid API key.');

describe('verdict table (SPEC §6)', () => {
  it.each([
    ['no header', undefined],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a bare token', 'mk_live_abc'],
    ['an empty bearer', 'Bearer   '],
  ])('401 missing_api_key for %s', async (_name, header) => {
    const { authenticator, apiKeys } = createAuthFixture();
    const result = await authenticator.lookup(header);
    expect(result.kind).toBe('missing');
    expect(rejectionOf(() => authenticator.verdict(result))).toEqual({ status: 401, envelope: missingKey });
    expect(apiKeys.calls).toHaveLength(0);
  });

  it('reads the scheme case-insensitively', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key } = apiKeys.add();
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const principal = authenticator.verdict(await authenticator.lookup(`${scheme} ${key}`));
      expect(principal.keyId).toBe('key_1');
    }
  });

  it('401 invalid_api_key for an unknown key', async () => {
    const { authenticator } = createAuthFixture();
    const result = await authenticator.lookup(bearer('mk_live_unknown'));
    expect(result.kind).toBe('unknown');
    expect(rejectionOf(() => authenticator.verdict(result))).toEqual({ status: 401, envelope: invalidKey });
  });

  it.each([
    ['disabled', { disabledAt: 1 }],
    ['revoked', { revokedAt: 1 }],
    ['expired', { expiresAt: 1 }],
    ['disabled and without organization', { disabledAt: 1, orgId: null, organization: null }],
  ])('401 invalid_api_key for a %s key', async (_name, overrides) => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key } = apiKeys.add(overrides);
    const result = await authenticator.lookup(bearer(key));
    expect(result.kind).toBe('found');
    expect(rejectionOf(() => authenticator.verdict(result))).toEqual({ status: 401, envelope: invalidKey });
  });

  it('403 no_organization for a key without organization', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key } = apiKeys.add({ orgId: null, projectId: null, organization: null });
    const result = await authenticator.lookup(bearer(key));
    expect(rejectionOf(() => authenticator.verdict(result))).toEqual({
      status: 403,
      envelope: envelope(
        'permission_error',
        'no_organization',
        'API key is not associated with an organization.',
      ),
    });
  });

  it('403 organization_disabled', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key } = apiKeys.add({ organization: organization({ disabled: true }) });
    const result = await authenticator.lookup(bearer(key));
    expect(rejectionOf(() => authenticator.verdict(result))).toEqual({
      status: 403,
      envelope: envelope('permission_error', 'organization_disabled', 'Organization is disabled.'),
    });
  });

  it('503 auth_unavailable when the store is unreachable and the key is not cached', async () => {
    const { authenticator, apiKeys, storeErrors } = createAuthFixture();
    const { key } = apiKeys.add();
    apiKeys.failure = new Error('connection refused');
    const result = await authenticator.lookup(bearer(key));
    expect(result.kind).toBe('store_unavailable');
    expect(rejectionOf(() => authenticator.verdict(result))).toEqual({
      status: 503,
      envelope: envelope('api_error', 'auth_unavailable', 'Authentication is temporarily unavailable.'),
    });
    expect(storeErrors).toEqual([apiKeys.failure]);
  });

  it('passes a valid key with its organization, project and limits', async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const { key } = apiKeys.add({
      rateLimit: 10,
      tokenRateLimit: 1000,
      organization: organization({ rateLimit: 100, tokenRateLimit: 50_000 }),
    });
    expect(authenticator.verdict(await authenticator.lookup(bearer(key)))).toEqual({
      keyId: 'key_1',
      orgId: 'org_acme',
      projectId: 'proj_main',
      isInternal: false,
      keyRateLimit: 10,
      keyTokenRateLimit: 1000,
      orgRateLimit: 100,
      orgTokenRateLimit: 50_000,
    });
  });

  it("uses the organization's default project when the key has none", async () => {
    const { authenticator, apiKeys } = createAuthFixture();
    const supplied = apiKeys.add({ projectId: null, defaultProjectId: 'proj_acme_default' });
    const derived = apiKeys.add({ projectId: null });
    expect(authenticator.verdict(await authenticator.lookup(bearer(supplied.key))).projectId).toBe(
      'proj_acme_default',
    );
    expect(authenticator.verdict(await authenticator.lookup(bearer(derived.key))).projectId).toBe(
      'proj_default_org_acme',
    );
  });
});

describe('expires_at', () => {
  it('is checked exactly on each request, even from cache', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    const expiresAt = clock.now() + 2_000;
    const { key } = apiKeys.add({ expiresAt });
    clock.advance(1_999);
    expect(authenticator.verdict(await authenticator.lookup(bearer(key))).keyId).toBe('key_1');
    clock.advance(1);
    expect(clock.now()).toBe(expiresAt);
    const result = await authenticator.lookup(bearer(key));
    expect(rejectionOf(() => authenticator.verdict(result))).toEqual({ status: 401, envelope: invalidKey });
    expect(apiKeys.calls).toHaveLength(1);
  });

  it('takes the verdict time from the caller', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    const { key } = apiKeys.add({ expiresAt: clock.now() + 10 });
    const result = await authenticator.lookup(bearer(key));
    expect(authenticator.verdict(result, clock.now() + 9).keyId).toBe('key_1');
    expect(rejectionOf(() => authenticator.verdict(result, clock.now() + 10)).status).toBe(401);
  });
});

describe('rate-limit subject (SPEC §7)', () => {
  it('maps each lookup to the buckets it is counted against', async () => {
    const { authenticator, apiKeys, clock } = createAuthFixture();
    const now = clock.now();
    const subject = async (header: string | undefined) =>
      rateLimitSubjectOf(await authenticator.lookup(header), now);
    const valid = apiKeys.add({ rateLimit: 7, organization: organization({ rateLimit: 70 }) });
    const revoked = apiKeys.add({ revokedAt: 1 });
    const orphan = apiKeys.add({ orgId: null, organization: null });

    expect(await subject(bearer(internalKey))).toEqual({ kind: 'exempt' });
    expect(await subject(undefined)).toEqual({ kind: 'anonymous' });
    expect(await subject(bearer('mk_live_nope'))).toEqual({ kind: 'anonymous' });
    expect(await subject(bearer(revoked.key))).toEqual({ kind: 'anonymous' });
    expect(await subject(bearer(orphan.key))).toEqual({ kind: 'key', keyId: orphan.row.id });
    expect(await subject(bearer(valid.key))).toEqual({
      kind: 'organization',
      orgId: 'org_acme',
      orgRateLimit: 70,
      orgTokenRateLimit: null,
      keyId: valid.row.id,
      keyRateLimit: 7,
      keyTokenRateLimit: null,
    });
    const storeDown: KeyLookupResult = { kind: 'store_unavailable', hash: valid.hash };
    expect(rateLimitSubjectOf(storeDown, now)).toEqual({ kind: 'anonymous' });
  });
});
