import { type Kysely, type SqlBool, sql } from 'kysely';
import type { DialectProfile } from '../dialect-profile.js';

/**
 * Containers (SPEC §11.2) and registered completions (§11.1), which live until their container is
 * deleted (foreign key with cascade). Registered items have their own table rather than rows in
 * request_events: events are immutable, registered items move from `pending` to `completed`.
 */
export async function up(db: Kysely<unknown>, profile: DialectProfile): Promise<void> {
  await db.schema
    .createTable('containers')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('project_id', 'text', (column) =>
      column.notNull().references('projects.id').onDelete('cascade'),
    )
    .addColumn('label', 'text', (column) => column.notNull())
    .addColumn('initial_model', 'text', (column) => column.notNull())
    .addColumn('deployed_model', 'text')
    .addColumn('system_prompt', 'text')
    .addColumn('initial_system_prompt', 'text')
    .addColumn('models', profile.jsonType, (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .addUniqueConstraint('containers_project_label_unique', ['project_id', 'label'])
    .execute();

  await db.schema
    .createTable('registered_completions')
    .addColumn('pk', profile.rowIdType, (column) => profile.rowId(column))
    .addColumn('id', 'text', (column) => column.notNull().unique())
    .addColumn('org_id', 'text', (column) => column.notNull())
    .addColumn('project_id', 'text', (column) => column.notNull())
    .addColumn('container_id', 'text', (column) =>
      column.notNull().references('containers.id').onDelete('cascade'),
    )
    .addColumn('container', 'text', (column) => column.notNull())
    .addColumn('ts', 'bigint', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('model', 'text')
    .addColumn('model_requested', 'text')
    .addColumn('provider', 'text')
    .addColumn('prompt_tokens', 'integer')
    .addColumn('completion_tokens', 'integer')
    .addColumn('total_tokens', 'integer')
    .addColumn('cached_tokens', 'integer')
    .addColumn('cache_write_tokens', 'integer')
    .addColumn('reasoning_tokens', 'integer')
    .addColumn('cost_usd', 'double precision')
    .addColumn('tags', profile.jsonType, (column) => column.notNull())
    .addColumn('metadata', profile.jsonType)
    .addColumn('trace', profile.jsonType)
    .addColumn('trace_id', 'text')
    .addColumn('trace_context', profile.jsonType)
    .addColumn('request_body', profile.jsonType)
    .addColumn('response_body', profile.jsonType)
    .addColumn('error', profile.jsonType)
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('registered_completions_project_ts')
    .on('registered_completions')
    .columns(['project_id', 'ts'])
    .execute();
  await db.schema
    .createIndex('registered_completions_container')
    .on('registered_completions')
    .column('container_id')
    .execute();
  await db.schema
    .createIndex('registered_completions_pending')
    .on('registered_completions')
    .column('ts')
    .where(sql<SqlBool>`status = 'pending'`)
    .execute();
}
