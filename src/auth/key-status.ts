import type { ApiKeyWithOrganization } from '../store/repositories.js';
import type { Principal } from './principal.js';

/** What `findByHash` returns: the key, its organization and the org's `default` project id. */
export type AuthKeyRecord = ApiKeyWithOrganization;

/**
 * The id assumed for an organization's `default` project when the store supplies none, so a key is
 * never left without a project scope.
 */
export function defaultProjectIdOf(orgId: string): string {
  return `proj_default_${orgId}`;
}

/**
 * Disabled, revoked or expired keys are refused alike (SPEC §6). `expires_at` is exclusive: a key
 * stops working at exactly that millisecond, whatever the cache holds.
 */
export function isKeyUsable(record: ApiKeyWithOrganization, nowMs: number): boolean {
  return (
    record.disabledAt === null &&
    record.revokedAt === null &&
    (record.expiresAt === null || nowMs < record.expiresAt)
  );
}

export type KeyRejection = 'invalid_api_key' | 'no_organization' | 'organization_disabled';

/** The §6 verdict for a stored key, in table order: the key itself first, then its organization. */
export function keyRejectionOf(record: ApiKeyWithOrganization, nowMs: number): KeyRejection | undefined {
  if (!isKeyUsable(record, nowMs)) return 'invalid_api_key';
  if (record.orgId === null || record.organization === null) return 'no_organization';
  if (record.organization.disabled) return 'organization_disabled';
  return undefined;
}

/** The principal a key stands for, or `undefined` when it has no organization. */
export function principalOf(record: AuthKeyRecord): Principal | undefined {
  const organization = record.organization;
  if (record.orgId === null || organization === null) return undefined;
  return {
    keyId: record.id,
    orgId: record.orgId,
    projectId: record.projectId ?? record.defaultProjectId ?? defaultProjectIdOf(record.orgId),
    isInternal: false,
    keyRateLimit: record.rateLimit,
    keyTokenRateLimit: record.tokenRateLimit,
    orgRateLimit: organization.rateLimit,
    orgTokenRateLimit: organization.tokenRateLimit,
  };
}
