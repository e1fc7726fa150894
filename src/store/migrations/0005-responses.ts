import { type Kysely, type SqlBool, sql } from 'kysely';
import type { DialectProfile } from '../dialect-profile.js';

/** Stored Responses and their background jobs (SPEC §12.3): a job is a `queued` background response. */
export async function up(db: Kysely<unknown>, profile: DialectProfile): Promise<void> {
  await db.schema
    .createTable('responses')
    .addColumn('pk', profile.rowIdType, (column) => profile.rowId(column))
    .addColumn('id', 'text', (column) => column.notNull().unique())
    .addColumn('org_id', 'text', (column) => column.notNull())
    .addColumn('project_id', 'text')
    .addColumn('key_id', 'text')
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('background', 'integer', (column) => column.notNull())
    .addColumn('model', 'text')
    .addColumn('previous_response_id', 'text')
    .addColumn('request', profile.jsonType)
    .addColumn('response', profile.jsonType)
    .addColumn('error', profile.jsonType)
    .addColumn('worker_id', 'text')
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('responses_org').on('responses').columns(['org_id', 'created_at']).execute();
  await db.schema
    .createIndex('responses_queue')
    .on('responses')
    .columns(['created_at', 'pk'])
    .where(sql<SqlBool>`status = 'queued' and background = 1`)
    .execute();
}
