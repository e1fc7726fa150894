import type { Kysely } from 'kysely';
import type { DialectProfile } from '../dialect-profile.js';

/**
 * One row per `/v1` request (SPEC §10). The integer `pk` is the clustering key (PERF-NOTES: a random
 * text primary key costs twice as much per insert); the public id is unique for insert-or-ignore.
 * Usage and the trace's id, name and source are columns because they are aggregated and filtered.
 */
export async function up(db: Kysely<unknown>, profile: DialectProfile): Promise<void> {
  await db.schema
    .createTable('request_events')
    .addColumn('pk', profile.rowIdType, (column) => profile.rowId(column))
    .addColumn('id', 'text', (column) => column.notNull().unique())
    .addColumn('request_id', 'text', (column) => column.notNull())
    .addColumn('ts', 'bigint', (column) => column.notNull())
    .addColumn('endpoint', 'text', (column) => column.notNull())
    .addColumn('org_id', 'text')
    .addColumn('project_id', 'text')
    .addColumn('key_id', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('model_requested', 'text')
    .addColumn('model', 'text')
    .addColumn('provider', 'text')
    .addColumn('upstream_model', 'text')
    .addColumn('upstream_id', 'text')
    .addColumn('container', 'text')
    .addColumn('attempts', profile.jsonType, (column) => column.notNull())
    .addColumn('status', 'integer', (column) => column.notNull())
    .addColumn('outcome', 'text', (column) => column.notNull())
    .addColumn('error_type', 'text')
    .addColumn('error_code', 'text')
    .addColumn('stream', 'integer', (column) => column.notNull())
    .addColumn('finish_reason', 'text')
    .addColumn('latency_ms', 'integer', (column) => column.notNull())
    .addColumn('ttft_ms', 'integer')
    .addColumn('upstream_latency_ms', 'integer')
    .addColumn('gateway_overhead_us', 'integer')
    .addColumn('prompt_tokens', 'integer')
    .addColumn('completion_tokens', 'integer')
    .addColumn('total_tokens', 'integer')
    .addColumn('cached_tokens', 'integer')
    .addColumn('cache_write_tokens', 'integer')
    .addColumn('reasoning_tokens', 'integer')
    .addColumn('usage_source', 'text')
    .addColumn('cost_usd', 'double precision')
    .addColumn('reserved_usd', 'double precision')
    .addColumn('tags', profile.jsonType, (column) => column.notNull())
    .addColumn('metadata', profile.jsonType)
    .addColumn('trace', profile.jsonType)
    .addColumn('trace_id', 'text')
    .addColumn('trace_name', 'text')
    .addColumn('trace_source', 'text')
    .addColumn('trace_context', profile.jsonType)
    .addColumn('store', 'integer', (column) => column.notNull())
    .addColumn('request_body', profile.jsonType)
    .addColumn('response_body', profile.jsonType)
    .execute();

  const indexes: [string, string[]][] = [
    ['request_events_org_ts', ['org_id', 'ts']],
    ['request_events_project_ts', ['project_id', 'ts']],
    ['request_events_key_ts', ['key_id', 'ts']],
    ['request_events_trace', ['trace_id', 'ts']],
    ['request_events_container_ts', ['container', 'ts']],
  ];
  for (const [name, columns] of indexes) {
    await db.schema.createIndex(name).on('request_events').columns(columns).execute();
  }
}
