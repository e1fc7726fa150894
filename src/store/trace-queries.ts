import type { ExpressionBuilder, Kysely } from 'kysely';
import { fromJsonOrNull } from './json-column.js';
import type { EventTrace, Page, TraceDetail, TraceQuery, TraceSummary } from './repositories.js';
import type { Database } from './schema.js';

const maxTraceRequests = 1_000;

/** Per-trace aggregates over the project's events (SPEC §11.3). */
function groupedTraces(
  db: Kysely<Database>,
  query: Omit<TraceQuery, 'limit' | 'offset'> & { traceId?: string },
) {
  let grouped = db
    .selectFrom('request_events')
    .select((eb) => [
      eb.ref('trace_id').$notNull().as('trace_id'),
      eb.fn.countAll<number>().as('request_count'),
      eb.fn.count<number>('container').distinct().as('container_count'),
      eb.fn
        .sum<number>(
          eb
            .case()
            .when(eb.or([eb('status', '>=', 400), eb('outcome', '=', 'stream_error')]))
            .then(1)
            .else(0)
            .end(),
        )
        .as('error_count'),
      eb.fn.min<number>('ts').as('first_seen'),
      eb.fn.max<number>('ts').as('last_seen'),
    ])
    .where('project_id', '=', query.projectId)
    .where('trace_id', 'is not', null)
    .groupBy('trace_id');
  if (query.traceId !== undefined) grouped = grouped.where('trace_id', '=', query.traceId);
  if (query.source !== undefined) {
    const source = query.source;
    grouped = grouped.where('trace_id', 'in', (eb) =>
      eb
        .selectFrom('request_events')
        .select('trace_id')
        .where('project_id', '=', query.projectId)
        .where('trace_source', '=', source),
    );
  }
  if (query.from !== undefined) grouped = grouped.having((eb) => eb.fn.max('ts'), '>=', query.from);
  if (query.to !== undefined) grouped = grouped.having((eb) => eb.fn.min('ts'), '<=', query.to);
  return grouped;
}

/**
 * Adds name, source and context from the latest event of each trace that supplies them. Correlated
 * subqueries on (trace_id, ts), run only for the rows of the page.
 */
function latestOf(projectId: string, column: 'trace_name' | 'trace_source' | 'trace_context') {
  return (eb: ExpressionBuilder<Database & { p: { trace_id: string } }, 'p'>) =>
    eb
      .selectFrom('request_events as n')
      .select(`n.${column}`)
      .whereRef('n.trace_id', '=', 'p.trace_id')
      .where('n.project_id', '=', projectId)
      .where(`n.${column}`, 'is not', null)
      .orderBy('n.ts', 'desc')
      .orderBy('n.pk', 'desc')
      .limit(1);
}

async function summaries(
  db: Kysely<Database>,
  query: Omit<TraceQuery, 'limit' | 'offset'> & { traceId?: string },
  page: { limit: number; offset: number },
): Promise<TraceSummary[]> {
  const pageQuery = groupedTraces(db, query)
    .orderBy('last_seen', 'desc')
    .orderBy('trace_id', 'desc')
    .limit(page.limit)
    .offset(page.offset);
  const rows = await db
    .selectFrom(pageQuery.as('p'))
    .selectAll('p')
    .select((eb) => [
      latestOf(query.projectId, 'trace_name')(eb).as('name'),
      latestOf(query.projectId, 'trace_source')(eb).as('source'),
      latestOf(query.projectId, 'trace_context')(eb).as('context'),
    ])
    .orderBy('p.last_seen', 'desc')
    .orderBy('p.trace_id', 'desc')
    .execute();
  return rows.map((row) => ({
    id: row.trace_id,
    name: row.name,
    source: row.source,
    traceContext: fromJsonOrNull(row.context),
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
    requestCount: Number(row.request_count),
    containerCount: Number(row.container_count),
    errorCount: Number(row.error_count),
  }));
}

export async function listTraces(db: Kysely<Database>, query: TraceQuery): Promise<Page<TraceSummary>> {
  const [data, count] = await Promise.all([
    summaries(db, query, query),
    db
      .selectFrom(groupedTraces(db, query).as('t'))
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .executeTakeFirstOrThrow(),
  ]);
  return { data, total: Number(count.total) };
}

export async function getTrace(
  db: Kysely<Database>,
  projectId: string,
  traceId: string,
): Promise<TraceDetail | undefined> {
  const [summary] = await summaries(db, { projectId, traceId }, { limit: 1, offset: 0 });
  if (summary === undefined) return undefined;
  const rows = await db
    .selectFrom('request_events')
    .select(['id', 'ts', 'endpoint', 'model', 'container', 'status', 'error_code', 'latency_ms', 'trace'])
    .where('project_id', '=', projectId)
    .where('trace_id', '=', traceId)
    .orderBy('ts')
    .orderBy('pk')
    .limit(maxTraceRequests)
    .execute();
  const requests = rows.map((row) => {
    const trace = fromJsonOrNull<EventTrace>(row.trace);
    return {
      id: row.id,
      ts: row.ts,
      endpoint: row.endpoint,
      model: row.model,
      container: row.container,
      status: row.status,
      errorCode: row.error_code,
      latencyMs: row.latency_ms,
      spanId: trace?.span_id ?? null,
      parentSpanId: trace?.parent_span_id ?? null,
    };
  });
  return { ...summary, requests };
}
