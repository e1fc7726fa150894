import { type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { DialectProfile } from './dialect-profile.js';
import { fromJson, fromJsonOrNull } from './json-column.js';
import type {
  CompletionFilters,
  CompletionQuery,
  CompletionSource,
  CompletionStatus,
  Page,
  StoredCompletionRecord,
} from './repositories.js';
import { traceOf, usageOf } from './request-event-rows.js';
import type { Database } from './schema.js';

/** Keyset position for exports: rows strictly older than this (`ts`, then `id`, descending). */
interface Cursor {
  ts: number;
  id: string;
}

const never = sql<SqlBool>`1 = 0`;

/** Conditions both tables share, written against column names the two tables have in common. */
export function sharedConditions(
  filters: CompletionFilters & { id?: string },
  profile: DialectProfile,
  cursor: Cursor | undefined,
): Expression<SqlBool>[] {
  const conditions: Expression<SqlBool>[] = [sql<SqlBool>`${sql.ref('project_id')} = ${filters.projectId}`];
  const equal = (column: string, value: string | undefined) => {
    if (value !== undefined) conditions.push(sql<SqlBool>`${sql.ref(column)} = ${value}`);
  };
  equal('id', filters.id);
  equal('container', filters.container);
  equal('model', filters.model);
  equal('trace_id', filters.traceId);
  if (filters.from !== undefined) conditions.push(sql<SqlBool>`${sql.ref('ts')} >= ${filters.from}`);
  if (filters.to !== undefined) conditions.push(sql<SqlBool>`${sql.ref('ts')} <= ${filters.to}`);
  if (filters.tags !== undefined && filters.tags.length > 0) {
    conditions.push(profile.jsonArrayContainsAll('tags', filters.tags));
  }
  if (cursor !== undefined) {
    conditions.push(
      sql<SqlBool>`(${sql.ref('ts')} < ${cursor.ts} or (${sql.ref('ts')} = ${cursor.ts} and ${sql.ref('id')} < ${cursor.id}))`,
    );
  }
  return conditions;
}

/**
 * The two sources of stored completions as one UNION ALL: successful stored `chat.completions`
 * events and registered items. A branch the filters exclude gets `1 = 0` rather than disappearing,
 * so the statement keeps one shape.
 */
function branches(
  db: Kysely<Database>,
  filters: CompletionFilters & { id?: string },
  profile: DialectProfile,
  cursor?: Cursor,
) {
  const conditions = sharedConditions(filters, profile, cursor);
  const hasGateway =
    (filters.source === undefined || filters.source === 'gateway') &&
    (filters.status === undefined || filters.status === 'completed');
  const hasRegister = filters.source === undefined || filters.source === 'register';

  const gateway = db
    .selectFrom('request_events')
    .select([
      'id',
      'ts',
      sql<CompletionSource>`'gateway'`.as('source'),
      sql<CompletionStatus>`'completed'`.as('status'),
      'model',
      'model_requested',
      'provider',
      'container',
      'prompt_tokens',
      'completion_tokens',
      'total_tokens',
      'cached_tokens',
      'cache_write_tokens',
      'reasoning_tokens',
      'cost_usd',
      'tags',
      'metadata',
      'trace',
      'trace_context',
      'request_body',
      'response_body',
      // Typed, so PostgreSQL can union it with the jsonb `error` column of registered items.
      sql<string | null>`cast(null as ${sql.raw(profile.jsonType)})`.as('error'),
    ])
    .where((eb) => eb.and(conditions))
    .where('endpoint', '=', 'chat.completions')
    .where('store', '=', 1)
    .where('outcome', '=', 'success')
    .where(hasGateway ? sql<SqlBool>`1 = 1` : never);

  let register = db
    .selectFrom('registered_completions')
    .select([
      'id',
      'ts',
      sql<CompletionSource>`'register'`.as('source'),
      'status',
      'model',
      'model_requested',
      'provider',
      'container',
      'prompt_tokens',
      'completion_tokens',
      'total_tokens',
      'cached_tokens',
      'cache_write_tokens',
      'reasoning_tokens',
      'cost_usd',
      'tags',
      'metadata',
      'trace',
      'trace_context',
      'request_body',
      'response_body',
      'error',
    ])
    .where((eb) => eb.and(conditions))
    .where(hasRegister ? sql<SqlBool>`1 = 1` : never);
  if (filters.status !== undefined) register = register.where('status', '=', filters.status);
  return { gateway, register };
}

function selectPage(
  db: Kysely<Database>,
  filters: CompletionFilters & { id?: string },
  profile: DialectProfile,
  page: { limit: number; offset: number },
  cursor?: Cursor,
) {
  const { gateway, register } = branches(db, filters, profile, cursor);
  // Each branch stops after the rows the page can need, walking its (project_id, ts) index
  // backwards, instead of the union being sorted whole for every page.
  const needed = page.offset + page.limit;
  return db
    .selectFrom(
      db
        .selectFrom(gateway.orderBy('ts', 'desc').orderBy('id', 'desc').limit(needed).as('g'))
        .selectAll()
        .unionAll(
          db
            .selectFrom(register.orderBy('ts', 'desc').orderBy('id', 'desc').limit(needed).as('r'))
            .selectAll(),
        )
        .as('c'),
    )
    .selectAll()
    .orderBy('ts', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit)
    .offset(page.offset);
}

type CompletionRow = Awaited<ReturnType<ReturnType<typeof selectPage>['execute']>>[number];

function toStoredCompletion(row: CompletionRow): StoredCompletionRecord {
  return {
    id: row.id,
    source: row.source,
    status: row.status,
    createdAt: row.ts,
    model: row.model,
    modelRequested: row.model_requested,
    provider: row.provider,
    container: row.container,
    usage: usageOf(row),
    costUsd: row.cost_usd,
    tags: fromJson(row.tags),
    metadata: fromJsonOrNull(row.metadata),
    trace: traceOf(row),
    requestBody: fromJsonOrNull(row.request_body),
    responseBody: fromJsonOrNull(row.response_body),
    error: fromJsonOrNull(row.error),
  };
}

export async function listCompletions(
  db: Kysely<Database>,
  profile: DialectProfile,
  query: CompletionQuery,
): Promise<Page<StoredCompletionRecord>> {
  const { gateway, register } = branches(db, query, profile);
  const counts = db.selectNoFrom([
    gateway
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .as('g'),
    register
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .as('r'),
  ]);
  const [rows, count] = await Promise.all([
    selectPage(db, query, profile, query).execute(),
    counts.executeTakeFirstOrThrow(),
  ]);
  return { data: rows.map(toStoredCompletion), total: Number(count.g ?? 0) + Number(count.r ?? 0) };
}

export async function getCompletion(
  db: Kysely<Database>,
  profile: DialectProfile,
  projectId: string,
  id: string,
): Promise<StoredCompletionRecord | undefined> {
  const row = await selectPage(db, { projectId, id }, profile, { limit: 1, offset: 0 }).executeTakeFirst();
  return row === undefined ? undefined : toStoredCompletion(row);
}

export async function* streamCompletions(
  db: Kysely<Database>,
  profile: DialectProfile,
  filters: CompletionFilters,
  pageSize: number,
): AsyncGenerator<StoredCompletionRecord> {
  let cursor: Cursor | undefined;
  for (;;) {
    const rows = await selectPage(db, filters, profile, { limit: pageSize, offset: 0 }, cursor).execute();
    for (const row of rows) yield toStoredCompletion(row);
    const last = rows.at(-1);
    if (last === undefined || rows.length < pageSize) return;
    cursor = { ts: last.ts, id: last.id };
  }
}
