import { toProjectRecord } from './organization-repository.js';
import { type ProjectRepository, StoreError } from './repositories.js';
import type { StoreContext } from './store-context.js';
import { newStoredId } from './store-ids.js';

export function createProjectRepository({ db, profile, clock }: StoreContext): ProjectRepository {
  return {
    async create({ orgId, name }) {
      const row = { id: newStoredId('proj'), org_id: orgId, name, is_default: 0, created_at: clock.now() };
      try {
        await db.transaction().execute(async (trx) => {
          const organization = await trx
            .selectFrom('organizations')
            .select('id')
            .where('id', '=', orgId)
            .executeTakeFirst();
          if (organization === undefined) throw new StoreError('not_found', `No organization '${orgId}'.`);
          await trx.insertInto('projects').values(row).execute();
        });
      } catch (error) {
        if (profile.isUniqueViolation(error)) {
          throw new StoreError('duplicate', `The organization already has a project named '${name}'.`);
        }
        throw error;
      }
      return toProjectRecord(row);
    },

    async list(orgId) {
      const rows = await db
        .selectFrom('projects')
        .selectAll()
        .where('org_id', '=', orgId)
        .orderBy('is_default', 'desc')
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toProjectRecord);
    },

    async find(projectId, orgId) {
      let query = db.selectFrom('projects').selectAll().where('id', '=', projectId);
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      const row = await query.executeTakeFirst();
      return row === undefined ? undefined : toProjectRecord(row);
    },

    async defaultFor(orgId) {
      const row = await db
        .selectFrom('projects')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('is_default', '=', 1)
        .executeTakeFirst();
      return row === undefined ? undefined : toProjectRecord(row);
    },

    async resolveAttribution(orgIdOrName, projectId) {
      if (orgIdOrName === undefined && projectId === undefined) return undefined;
      let query = db
        .selectFrom('projects as p')
        .innerJoin('organizations as o', 'o.id', 'p.org_id')
        .select(['p.id as projectId', 'o.id as orgId', 'o.name as orgName']);
      if (orgIdOrName !== undefined) {
        query = query.where((eb) => eb.or([eb('o.id', '=', orgIdOrName), eb('o.name', '=', orgIdOrName)]));
      }
      query =
        projectId === undefined ? query.where('p.is_default', '=', 1) : query.where('p.id', '=', projectId);
      const rows = await query.execute();
      const row = rows.find((candidate) => candidate.orgId === orgIdOrName) ?? rows[0];
      return row === undefined ? undefined : { orgId: row.orgId, projectId: row.projectId };
    },
  };
}
