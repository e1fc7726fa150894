import { type Kysely, type SqlBool, sql } from 'kysely';
import type { DialectProfile } from '../dialect-profile.js';

/** Organizations, their projects and API keys (SPEC §6). */
export async function up(db: Kysely<unknown>, _profile: DialectProfile): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('name', 'text', (column) => column.notNull().unique())
    .addColumn('disabled_at', 'bigint')
    .addColumn('rate_limit', 'integer')
    .addColumn('token_rate_limit', 'integer')
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('projects')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('org_id', 'text', (column) =>
      column.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('is_default', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addUniqueConstraint('projects_org_name_unique', ['org_id', 'name'])
    .execute();
  await db.schema
    .createIndex('projects_default_unique')
    .on('projects')
    .column('org_id')
    .unique()
    .where(sql<SqlBool>`is_default = 1`)
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('org_id', 'text', (column) => column.references('organizations.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (column) => column.references('projects.id').onDelete('cascade'))
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('hash', 'text', (column) => column.notNull().unique())
    .addColumn('prefix', 'text', (column) => column.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('disabled_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('rate_limit', 'integer')
    .addColumn('token_rate_limit', 'integer')
    .addColumn('last_used_at', 'bigint')
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('api_keys_org').on('api_keys').columns(['org_id', 'created_at']).execute();
  await db.schema.createIndex('api_keys_project').on('api_keys').column('project_id').execute();
}
