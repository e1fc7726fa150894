/**
 * Usage (SPEC §11.4): requests, errors, tokens and cost aggregated from request events, by UTC day or
 * hour, model, container or key. The API answers for the caller's project; the CLI adds the projects
 * of an organization together.
 */
import type { Store, UsageGrouping, UsageQuery, UsageRow } from '../store/repositories.js';
import {
  enumParameter,
  fromStore,
  type ListEnvelope,
  type QueryParameters,
  textParameter,
  timeRangeOf,
  unixSeconds,
} from './platform-schemas.js';

export const usageGroupings: readonly UsageGrouping[] = ['day', 'hour', 'model', 'container', 'key'];
export const defaultUsageWindowMs = 30 * 86_400_000;

/** One wire row; `start`/`end` in Unix seconds (`end` exclusive for day and hour buckets). */
export interface UsageEntry {
  start: number;
  end: number;
  model?: string | null;
  container?: string | null;
  key_id?: string | null;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
}

export type UsageFilters = Omit<UsageQuery, 'projectId'>;

/**
 * `from`/`to` in Unix seconds (default: the 30 days up to `nowMs`), `group_by` (default `day`),
 * `model`, `container`.
 */
export function usageFiltersOf(query: QueryParameters, nowMs: number): UsageFilters {
  const range = timeRangeOf(query);
  const to = range.to ?? nowMs;
  const from = range.from ?? Math.max(0, to - defaultUsageWindowMs);
  const model = textParameter(query, 'model');
  const container = textParameter(query, 'container');
  return {
    from,
    to,
    groupBy: enumParameter(query, 'group_by', usageGroupings) ?? 'day',
    ...(model === undefined ? {} : { model }),
    ...(container === undefined ? {} : { container }),
  };
}

/** Cost sums of float columns drift in the last digits; nano-dollars are plenty. */
function roundUsd(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

export function toUsageEntry(row: UsageRow): UsageEntry {
  return {
    start: unixSeconds(row.start),
    end: unixSeconds(row.end),
    ...('model' in row ? { model: row.model ?? null } : {}),
    ...('container' in row ? { container: row.container ?? null } : {}),
    ...('keyId' in row ? { key_id: row.keyId ?? null } : {}),
    requests: row.requests,
    errors: row.errors,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    cached_tokens: row.cachedTokens,
    reasoning_tokens: row.reasoningTokens,
    cost_usd: roundUsd(row.costUsd),
  };
}

/** GET /v1/usage for the caller's project. Every row is returned: the list is not paged. */
export async function usageSummary(
  store: Pick<Store, 'requestEvents'>,
  projectId: string,
  query: QueryParameters,
  nowMs: number,
): Promise<ListEnvelope<UsageEntry>> {
  const filters = usageFiltersOf(query, nowMs);
  const rows = await fromStore(() => store.requestEvents.usage({ projectId, ...filters }));
  return { object: 'list', data: rows.map(toUsageEntry), total: rows.length };
}

function groupKeyOf(row: UsageRow): string {
  return JSON.stringify([row.start, row.model, row.container, row.keyId]);
}

/**
 * The usage of several projects (an organization's) as one set of rows: rows of the same bucket or
 * group are added together, in the order the store sorts them (time, or group value with null last).
 */
export async function combinedUsage(
  store: Pick<Store, 'requestEvents'>,
  projectIds: readonly string[],
  filters: UsageFilters,
): Promise<UsageRow[]> {
  const merged = new Map<string, UsageRow>();
  for (const projectId of projectIds) {
    for (const row of await store.requestEvents.usage({ projectId, ...filters })) {
      const key = groupKeyOf(row);
      const seen = merged.get(key);
      if (!seen) {
        merged.set(key, { ...row });
        continue;
      }
      seen.requests += row.requests;
      seen.errors += row.errors;
      seen.promptTokens += row.promptTokens;
      seen.completionTokens += row.completionTokens;
      seen.cachedTokens += row.cachedTokens;
      seen.reasoningTokens += row.reasoningTokens;
      seen.costUsd += row.costUsd;
    }
  }
  const field = filters.groupBy === 'key' ? 'keyId' : filters.groupBy;
  return [...merged.values()].sort((left, right) => {
    if (field === 'day' || field === 'hour') return left.start - right.start;
    const a = left[field] ?? null;
    const b = right[field] ?? null;
    if (a === b) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    return a < b ? -1 : 1;
  });
}
