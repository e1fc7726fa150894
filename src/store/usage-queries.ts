import { type Kysely, type RawBuilder, sql } from 'kysely';
import { inferenceEndpoints, type UsageGrouping, type UsageQuery, type UsageRow } from './repositories.js';
import type { Database } from './schema.js';

const bucketMs: Partial<Record<UsageGrouping, number>> = { hour: 3_600_000, day: 86_400_000 };
const groupColumn = { model: 'model', container: 'container', key: 'key_id' } as const;

/**
 * What rows are grouped by: the UTC bucket start (`ts - ts % size`, integer arithmetic that both
 * engines share) or a column. The size is a literal so the SELECT and GROUP BY expressions are the
 * same text, which PostgreSQL requires.
 */
function groupKeyOf(groupBy: UsageGrouping): RawBuilder<number | string | null> {
  const size = bucketMs[groupBy];
  if (size !== undefined) return sql<number>`${sql.ref('ts')} - (${sql.ref('ts')} % ${sql.lit(size)})`;
  return sql<string | null>`${sql.ref(groupColumn[groupBy as keyof typeof groupColumn])}`;
}

export async function usage(db: Kysely<Database>, query: UsageQuery): Promise<UsageRow[]> {
  const groupKey = groupKeyOf(query.groupBy);
  let select = db
    .selectFrom('request_events')
    .select((eb) => {
      const total = (column: 'prompt_tokens' | 'completion_tokens' | 'cached_tokens' | 'reasoning_tokens') =>
        eb.fn.coalesce(eb.fn.sum<number>(column), eb.lit(0));
      return [
        groupKey.as('group_key'),
        eb.fn.countAll<number>().as('requests'),
        eb.fn
          .sum<number>(
            eb
              .case()
              .when(eb.or([eb('status', '>=', 400), eb('outcome', '=', 'stream_error')]))
              .then(1)
              .else(0)
              .end(),
          )
          .as('errors'),
        total('prompt_tokens').as('prompt_tokens'),
        total('completion_tokens').as('completion_tokens'),
        total('cached_tokens').as('cached_tokens'),
        total('reasoning_tokens').as('reasoning_tokens'),
        eb.fn.coalesce(eb.fn.sum<number>('cost_usd'), eb.lit(0)).as('cost_usd'),
      ];
    })
    .where('project_id', '=', query.projectId)
    .where('ts', '>=', query.from)
    .where('ts', '<=', query.to)
    .where('endpoint', 'in', [...(query.endpoints ?? inferenceEndpoints)])
    .groupBy(groupKey);
  if (query.model !== undefined) select = select.where('model', '=', query.model);
  if (query.container !== undefined) select = select.where('container', '=', query.container);
  const rows = await select.execute();

  const size = bucketMs[query.groupBy];
  const result = rows.map((row): UsageRow => {
    const totals = {
      requests: Number(row.requests),
      errors: Number(row.errors),
      promptTokens: Number(row.prompt_tokens),
      completionTokens: Number(row.completion_tokens),
      cachedTokens: Number(row.cached_tokens),
      reasoningTokens: Number(row.reasoning_tokens),
      costUsd: Number(row.cost_usd),
    };
    if (size !== undefined) {
      const start = Number(row.group_key);
      return { start, end: start + size, ...totals };
    }
    const value = row.group_key === null ? null : String(row.group_key);
    const field = query.groupBy === 'key' ? 'keyId' : query.groupBy;
    return { start: query.from, end: query.to, [field]: value, ...totals };
  });
  // Sorted here: the engines disagree on where NULL goes in ORDER BY.
  return result.sort((left, right) => {
    if (size !== undefined) return left.start - right.start;
    const field = query.groupBy === 'key' ? 'keyId' : (query.groupBy as 'model' | 'container');
    const a = left[field] ?? null;
    const b = right[field] ?? null;
    if (a === b) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    return a < b ? -1 : 1;
  });
}
