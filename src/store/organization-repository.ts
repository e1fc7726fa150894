import type { Selectable } from 'kysely';
import {
  type OrganizationLimits,
  type OrganizationRecord,
  type OrganizationRepository,
  type ProjectRecord,
  StoreError,
} from './repositories.js';
import type { OrganizationsTable, ProjectsTable } from './schema.js';
import type { StoreContext } from './store-context.js';
import { newStoredId } from './store-ids.js';

export const defaultProjectName = 'default';

export function toOrganizationRecord(row: Selectable<OrganizationsTable>): OrganizationRecord {
  return {
    id: row.id,
    name: row.name,
    disabled: row.disabled_at !== null,
    rateLimit: row.rate_limit,
    tokenRateLimit: row.token_rate_limit,
    createdAt: row.created_at,
  };
}

export function toProjectRecord(row: Selectable<ProjectsTable>): ProjectRecord {
  return { id: row.id, orgId: row.org_id, name: row.name, createdAt: row.created_at };
}

export function createOrganizationRepository({ db, profile, clock }: StoreContext): OrganizationRepository {
  return {
    async create(input) {
      const now = clock.now();
      const organization = {
        id: newStoredId('org'),
        name: input.name,
        disabled_at: null,
        rate_limit: input.rateLimit ?? null,
        token_rate_limit: input.tokenRateLimit ?? null,
        created_at: now,
      };
      const project = {
        id: newStoredId('proj'),
        org_id: organization.id,
        name: defaultProjectName,
        is_default: 1,
        created_at: now,
      };
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('organizations').values(organization).execute();
          await trx.insertInto('projects').values(project).execute();
          // The account row exists from the start so billing always has a row to lock; it stays
          // unconfigured (prepaid requests refused) until credits are first added.
          await trx
            .insertInto('billing_accounts')
            .values({ org_id: organization.id, balance_micros: 0, configured_at: null, updated_at: now })
            .execute();
        });
      } catch (error) {
        if (profile.isUniqueViolation(error)) {
          throw new StoreError('duplicate', `An organization named '${input.name}' already exists.`);
        }
        throw error;
      }
      return { organization: toOrganizationRecord(organization), defaultProject: toProjectRecord(project) };
    },

    async list() {
      const rows = await db
        .selectFrom('organizations')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toOrganizationRecord);
    },

    async findByIdOrName(idOrName) {
      const rows = await db
        .selectFrom('organizations')
        .selectAll()
        .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
        .execute();
      const row = rows.find((candidate) => candidate.id === idOrName) ?? rows[0];
      return row === undefined ? undefined : toOrganizationRecord(row);
    },

    async setDisabled(id, disabled) {
      const row = await db
        .updateTable('organizations')
        .set((eb) => ({ disabled_at: disabled ? eb.fn.coalesce('disabled_at', eb.val(clock.now())) : null }))
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? undefined : toOrganizationRecord(row);
    },

    async updateLimits(id, limits: OrganizationLimits) {
      const changes = {
        ...(limits.rateLimit === undefined ? {} : { rate_limit: limits.rateLimit }),
        ...(limits.tokenRateLimit === undefined ? {} : { token_rate_limit: limits.tokenRateLimit }),
      };
      const row =
        Object.keys(changes).length === 0
          ? await db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst()
          : await db
              .updateTable('organizations')
              .set(changes)
              .where('id', '=', id)
              .returningAll()
              .executeTakeFirst();
      return row === undefined ? undefined : toOrganizationRecord(row);
    },
  };
}
