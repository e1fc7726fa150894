/**
 * The store's contract: the only way code outside src/store reaches the database. Kysely types stay
 * inside src/store. Times are Unix milliseconds; money is integer micro-dollars (1 USD = 1 000 000).
 */

export interface OrganizationRecord {
  id: string;
  name: string;
  disabled: boolean;
  rateLimit: number | null;
  tokenRateLimit: number | null;
  createdAt: number;
}

export interface ProjectRecord {
  id: string;
  orgId: string;
  name: string;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  orgId: string | null;
  projectId: string | null;
  name: string;
  /** First 12 characters of the key, for display. */
  prefix: string;
  expiresAt: number | null;
  disabledAt: number | null;
  revokedAt: number | null;
  rateLimit: number | null;
  tokenRateLimit: number | null;
  lastUsedAt: number | null;
  createdAt: number;
}

/** What authentication needs in one round trip: the key and its organization. */
export interface ApiKeyWithOrganization extends ApiKeyRecord {
  organization: OrganizationRecord | null;
}

export interface ApiKeyRepository {
  /** `hash` is the SHA-256 hex of the bearer string. */
  findByHash(hash: string): Promise<ApiKeyWithOrganization | undefined>;
}
