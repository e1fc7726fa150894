import type { Kysely, Selectable } from 'kysely';
import { toOrganizationRecord } from './organization-repository.js';
import {
  type ApiKeyRecord,
  type ApiKeyRepository,
  type ApiKeyWithOrganization,
  type CreateApiKeyInput,
  StoreError,
} from './repositories.js';
import type { ApiKeysTable, Database } from './schema.js';
import type { StoreContext } from './store-context.js';
import { newStoredId } from './store-ids.js';

function toApiKeyRecord(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    projectId: row.project_id,
    name: row.name,
    prefix: row.prefix,
    expiresAt: row.expires_at,
    disabledAt: row.disabled_at,
    revokedAt: row.revoked_at,
    rateLimit: row.rate_limit,
    tokenRateLimit: row.token_rate_limit,
    lastUsedAt: row.last_used_at,
    createdAt: row.created_at,
  };
}

/** The organization and project a new key belongs to, from whichever of the two was given. */
async function ownerOf(
  trx: Kysely<Database>,
  input: CreateApiKeyInput,
): Promise<{ orgId: string | null; projectId: string | null }> {
  const orgId = input.orgId ?? null;
  const projectId = input.projectId ?? null;
  if (projectId !== null) {
    const project = await trx
      .selectFrom('projects')
      .select(['id', 'org_id'])
      .where('id', '=', projectId)
      .executeTakeFirst();
    if (project === undefined || (orgId !== null && project.org_id !== orgId)) {
      throw new StoreError(
        'not_found',
        `No project '${projectId}'${orgId === null ? '' : ` in '${orgId}'`}.`,
      );
    }
    return { orgId: project.org_id, projectId: project.id };
  }
  if (orgId === null) return { orgId: null, projectId: null };
  const row = await trx
    .selectFrom('organizations as o')
    .leftJoin('projects as p', (join) => join.onRef('p.org_id', '=', 'o.id').on('p.is_default', '=', 1))
    .select(['o.id as orgId', 'p.id as projectId'])
    .where('o.id', '=', orgId)
    .executeTakeFirst();
  if (row === undefined) throw new StoreError('not_found', `No organization '${orgId}'.`);
  return row;
}

export function createApiKeyRepository({ db, profile, clock }: StoreContext): ApiKeyRepository {
  const scoped = (id: string, orgId: string | undefined) => {
    let query = db.selectFrom('api_keys').selectAll().where('id', '=', id);
    if (orgId !== undefined) query = query.where('org_id', '=', orgId);
    return query;
  };

  return {
    async create(input) {
      try {
        const row = await db.transaction().execute(async (trx) => {
          const owner = await ownerOf(trx, input);
          const values = {
            id: newStoredId('key'),
            org_id: owner.orgId,
            project_id: owner.projectId,
            name: input.name,
            hash: input.hash,
            prefix: input.prefix,
            expires_at: input.expiresAt ?? null,
            disabled_at: null,
            revoked_at: null,
            rate_limit: input.rateLimit ?? null,
            token_rate_limit: input.tokenRateLimit ?? null,
            last_used_at: null,
            created_at: clock.now(),
          };
          await trx.insertInto('api_keys').values(values).execute();
          return values;
        });
        return toApiKeyRecord(row);
      } catch (error) {
        if (profile.isUniqueViolation(error))
          throw new StoreError('duplicate', 'This key is already stored.');
        throw error;
      }
    },

    async findByHash(hash) {
      const row = await db
        .selectFrom('api_keys as k')
        .leftJoin('organizations as o', 'o.id', 'k.org_id')
        .leftJoin('projects as p', (join) =>
          join.onRef('p.org_id', '=', 'k.org_id').on('p.is_default', '=', 1),
        )
        .selectAll('k')
        .select([
          'o.id as o_id',
          'o.name as o_name',
          'o.disabled_at as o_disabled_at',
          'o.rate_limit as o_rate_limit',
          'o.token_rate_limit as o_token_rate_limit',
          'o.created_at as o_created_at',
          'p.id as default_project_id',
        ])
        .where('k.hash', '=', hash)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const organization =
        row.o_id === null || row.o_name === null || row.o_created_at === null
          ? null
          : toOrganizationRecord({
              id: row.o_id,
              name: row.o_name,
              disabled_at: row.o_disabled_at,
              rate_limit: row.o_rate_limit,
              token_rate_limit: row.o_token_rate_limit,
              created_at: row.o_created_at,
            });
      const record: ApiKeyWithOrganization = {
        ...toApiKeyRecord(row),
        organization,
        defaultProjectId: row.default_project_id,
      };
      return record;
    },

    async findById(id, orgId) {
      const row = await scoped(id, orgId).executeTakeFirst();
      return row === undefined ? undefined : toApiKeyRecord(row);
    },

    async list(orgId) {
      let query = db.selectFrom('api_keys').selectAll();
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
      return rows.map(toApiKeyRecord);
    },

    async revoke(id, orgId) {
      let query = db
        .updateTable('api_keys')
        .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(clock.now())) }))
        .where('id', '=', id);
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      const row = await query.returningAll().executeTakeFirst();
      return row === undefined ? undefined : toApiKeyRecord(row);
    },

    async disable(id, orgId) {
      let query = db
        .updateTable('api_keys')
        .set((eb) => ({ disabled_at: eb.fn.coalesce('disabled_at', eb.val(clock.now())) }))
        .where('id', '=', id);
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      const row = await query.returningAll().executeTakeFirst();
      return row === undefined ? undefined : toApiKeyRecord(row);
    },

    async touchLastUsed(ids, at) {
      const unique = [...new Set(ids)];
      for (let index = 0; index < unique.length; index += 1_000) {
        await db
          .updateTable('api_keys')
          .set({ last_used_at: at })
          .where('id', 'in', unique.slice(index, index + 1_000))
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
          .execute();
      }
    },
  };
}
