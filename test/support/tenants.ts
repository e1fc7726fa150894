import { generateApiKey } from '#src/auth/api-key.js';
import type { Store } from '#src/store/repositories.js';

export interface Tenant {
  orgId: string;
  projectId: string;
  keyId: string;
  key: string;
  headers: Record<string, string>;
}

let counter = 0;

/** Creates an organization with its default project and one API key, straight in the store. */
export async function createTenant(
  store: Store,
  options: {
    name?: string;
    keyRateLimit?: number;
    orgRateLimit?: number;
    tokenRateLimit?: number;
    expiresAt?: number;
  } = {},
): Promise<Tenant> {
  counter += 1;
  const { organization, defaultProject } = await store.organizations.create({
    name: options.name ?? `org-${process.pid}-${counter}-${Date.now()}`,
    rateLimit: options.orgRateLimit ?? null,
    tokenRateLimit: options.tokenRateLimit ?? null,
  });
  const generated = generateApiKey();
  const record = await store.apiKeys.create({
    orgId: organization.id,
    name: 'test key',
    hash: generated.hash,
    prefix: generated.prefix,
    expiresAt: options.expiresAt ?? null,
    rateLimit: options.keyRateLimit ?? null,
  });
  return {
    orgId: organization.id,
    projectId: defaultProject.id,
    keyId: record.id,
    key: generated.key,
    headers: { authorization: `Bearer ${generated.key}`, 'content-type': 'application/json' },
  };
}
