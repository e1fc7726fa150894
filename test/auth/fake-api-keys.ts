import { generateApiKey } from '#src/auth/api-key.js';
import type { AuthKeyRecord } from '#src/auth/key-status.js';
import type { ApiKeyRepository, OrganizationRecord } from '#src/store/repositories.js';

export function organization(overrides: Partial<OrganizationRecord> = {}): OrganizationRecord {
  return {
    id: 'org_acme',
    name: 'acme',
    disabled: false,
    rateLimit: null,
    tokenRateLimit: null,
    createdAt: 0,
    ...overrides,
  };
}

/**
 * In-memory `ApiKeyRepository` that counts calls, can fail, and can hold calls until released. Each
 * call reads its row when it starts and returns a copy, like a query whose answer is in flight.
 */
export class FakeApiKeys implements Pick<ApiKeyRepository, 'findByHash'> {
  readonly rows = new Map<string, AuthKeyRecord>();
  readonly calls: string[] = [];
  failure: Error | undefined;
  /** While set, each call waits; `held[i]()` lets the i-th held call answer. */
  isHolding = false;
  readonly held: (() => void)[] = [];

  /** Stores a new key and returns its secret and row. */
  add(overrides: Partial<AuthKeyRecord> = {}): { key: string; hash: string; row: AuthKeyRecord } {
    const { key, hash, prefix } = generateApiKey();
    const row: AuthKeyRecord = {
      id: `key_${this.rows.size + 1}`,
      orgId: 'org_acme',
      projectId: 'proj_main',
      name: 'test',
      prefix,
      expiresAt: null,
      disabledAt: null,
      revokedAt: null,
      rateLimit: null,
      tokenRateLimit: null,
      lastUsedAt: null,
      createdAt: 0,
      organization: organization(),
      ...overrides,
    };
    this.rows.set(hash, row);
    return { key, hash, row };
  }

  /** Stops holding and lets every held call answer. */
  releaseAll(): void {
    this.isHolding = false;
    for (const release of this.held) release();
  }

  async findByHash(hash: string): Promise<AuthKeyRecord | undefined> {
    this.calls.push(hash);
    const row = this.rows.get(hash);
    const snapshot = row && structuredClone(row);
    if (this.isHolding) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failure) throw this.failure;
    return snapshot;
  }
}
