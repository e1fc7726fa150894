import type { InternalAttributionResolver } from '#src/auth/internal-attribution.js';
import { KeyAuthenticator, type KeyAuthenticatorOptions } from '#src/auth/key-authenticator.js';
import { FakeApiKeys } from './fake-api-keys.js';
import { ManualClock } from './manual-clock.js';

export const internalKey = 'internal-service-key-0123456789abcdefghij';

/** Organizations `org_acme` (name `acme`, projects `proj_main` and default `proj_acme_default`). */
export const resolveAcme: InternalAttributionResolver = async (orgIdOrName, projectId) => {
  if (orgIdOrName !== undefined && orgIdOrName !== 'org_acme' && orgIdOrName !== 'acme') return undefined;
  if (projectId === undefined) return { orgId: 'org_acme', projectId: 'proj_acme_default' };
  return projectId === 'proj_main' ? { orgId: 'org_acme', projectId } : undefined;
};

export interface AuthFixture {
  authenticator: KeyAuthenticator;
  apiKeys: FakeApiKeys;
  clock: ManualClock;
  storeErrors: unknown[];
}

export function createAuthFixture(options: Partial<KeyAuthenticatorOptions> = {}): AuthFixture {
  const apiKeys = new FakeApiKeys();
  const clock = new ManualClock();
  const storeErrors: unknown[] = [];
  const authenticator = new KeyAuthenticator({
    apiKeys,
    clock,
    auth: { internalKey, cacheTtlSeconds: 5, negativeCacheTtlSeconds: 5, staleIfErrorSeconds: 300 },
    resolveInternalAttribution: resolveAcme,
    onStoreError: (error) => storeErrors.push(error),
    ...options,
  });
  return { authenticator, apiKeys, clock, storeErrors };
}

export const bearer = (key: string): string => `Bearer ${key}`;
