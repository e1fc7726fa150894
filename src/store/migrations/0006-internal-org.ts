import type { Kysely } from 'kysely';
import type { DialectProfile } from '../dialect-profile.js';

/**
 * The built-in organization `internal` with its default project `internal` (SPEC §6): traffic of the
 * internal service key without `x-maniac-org` is attributed here, so its containers, completions and
 * traces have a project that exists.
 */
export async function up(db: Kysely<unknown>, _profile: DialectProfile): Promise<void> {
  const now = Date.now();
  const schemaless = db as unknown as Kysely<{
    organizations: { id: string; name: string; created_at: number };
    projects: { id: string; org_id: string; name: string; is_default: number; created_at: number };
    billing_accounts: { org_id: string; balance_micros: number; updated_at: number };
  }>;
  await schemaless
    .insertInto('organizations')
    .values({ id: 'internal', name: 'internal', created_at: now })
    .execute();
  await schemaless
    .insertInto('projects')
    .values({ id: 'internal', org_id: 'internal', name: 'default', is_default: 1, created_at: now })
    .execute();
  await schemaless
    .insertInto('billing_accounts')
    .values({ org_id: 'internal', balance_micros: 0, updated_at: now })
    .execute();
}
