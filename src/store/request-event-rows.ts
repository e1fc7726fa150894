import type { Insertable, Selectable } from 'kysely';
import type { RequestEvent } from '../telemetry/request-event.js';
import { fromJson, fromJsonOrNull, toFlag, toInteger, toJson, toJsonOrNull, toText } from './json-column.js';
import type { EventTrace, EventUsage } from './repositories.js';
import type { JsonText, RequestEventsTable } from './schema.js';

export interface UsageColumns {
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
}

export function usageColumnsOf(usage: EventUsage | null | undefined): UsageColumns {
  return {
    prompt_tokens: toInteger(usage?.prompt_tokens),
    completion_tokens: toInteger(usage?.completion_tokens),
    total_tokens: toInteger(usage?.total_tokens),
    cached_tokens: toInteger(usage?.cached_tokens),
    cache_write_tokens: toInteger(usage?.cache_write_tokens),
    reasoning_tokens: toInteger(usage?.reasoning_tokens),
  };
}

export function usageOf(columns: UsageColumns): EventUsage | null {
  if (columns.prompt_tokens === null) return null;
  return {
    prompt_tokens: columns.prompt_tokens,
    completion_tokens: columns.completion_tokens ?? 0,
    total_tokens: columns.total_tokens ?? 0,
    cached_tokens: columns.cached_tokens ?? 0,
    cache_write_tokens: columns.cache_write_tokens ?? 0,
    reasoning_tokens: columns.reasoning_tokens ?? 0,
  };
}

export interface TraceColumns {
  trace: JsonText | null;
  trace_id: string | null;
  trace_context: JsonText | null;
}

/** `trace_context` gets its own column (the latest one wins in trace summaries); the rest stays JSON. */
export function traceColumnsOf(trace: EventTrace | null | undefined): TraceColumns {
  if (trace === null || trace === undefined) return { trace: null, trace_id: null, trace_context: null };
  const { trace_context, ...rest } = trace;
  return { trace: toJson(rest), trace_id: toText(trace.id), trace_context: toJsonOrNull(trace_context) };
}

export function traceOf(columns: Pick<TraceColumns, 'trace' | 'trace_context'>): EventTrace | null {
  const trace = fromJsonOrNull<EventTrace>(columns.trace);
  if (trace === null) return null;
  const context = fromJsonOrNull<Record<string, unknown>>(columns.trace_context);
  return context === null ? trace : { ...trace, trace_context: context };
}

/**
 * Every column present (never `undefined`): a multi-row insert must not fall back to DEFAULT.
 * Strings a client or upstream could have chosen go through `toText`.
 */
export function toEventRow(event: RequestEvent): Insertable<RequestEventsTable> {
  return {
    id: event.id,
    request_id: toText(event.request_id),
    ts: toInteger(event.ts),
    endpoint: event.endpoint,
    org_id: event.org_id,
    project_id: event.project_id,
    key_id: event.key_id,
    user_agent: toText(event.user_agent),
    client_ip: event.client_ip,
    model_requested: toText(event.model_requested),
    model: toText(event.model),
    provider: event.provider,
    upstream_model: toText(event.upstream_model),
    upstream_id: toText(event.upstream_id),
    container: toText(event.container),
    attempts: toJson(event.attempts),
    status: event.status,
    outcome: event.outcome,
    error_type: toText(event.error_type),
    error_code: event.error_code,
    stream: toFlag(event.stream),
    finish_reason: toText(event.finish_reason),
    latency_ms: toInteger(event.latency_ms),
    ttft_ms: toInteger(event.ttft_ms),
    upstream_latency_ms: toInteger(event.upstream_latency_ms),
    gateway_overhead_us: toInteger(event.gateway_overhead_us),
    ...usageColumnsOf(event.usage),
    usage_source: event.usage_source,
    cost_usd: event.cost_usd,
    reserved_usd: event.reserved_usd,
    tags: toJson(event.tags),
    metadata: toJsonOrNull(event.metadata),
    ...traceColumnsOf(event.trace),
    trace_name: toText(event.trace?.name),
    trace_source: toText(event.trace?.source),
    store: toFlag(event.store),
    request_body: toJsonOrNull(event.request_body),
    response_body: toJsonOrNull(event.response_body),
  };
}

export function fromEventRow(row: Selectable<RequestEventsTable>): RequestEvent {
  return {
    id: row.id,
    request_id: row.request_id,
    ts: row.ts,
    endpoint: row.endpoint,
    org_id: row.org_id,
    project_id: row.project_id,
    key_id: row.key_id,
    user_agent: row.user_agent,
    client_ip: row.client_ip,
    model_requested: row.model_requested,
    model: row.model,
    provider: row.provider,
    upstream_model: row.upstream_model,
    upstream_id: row.upstream_id,
    container: row.container,
    attempts: fromJson(row.attempts),
    status: row.status,
    outcome: row.outcome as RequestEvent['outcome'],
    error_type: row.error_type,
    error_code: row.error_code,
    stream: row.stream === 1,
    finish_reason: row.finish_reason,
    latency_ms: row.latency_ms,
    ttft_ms: row.ttft_ms,
    upstream_latency_ms: row.upstream_latency_ms,
    gateway_overhead_us: row.gateway_overhead_us,
    usage: usageOf(row),
    usage_source: row.usage_source as RequestEvent['usage_source'],
    cost_usd: row.cost_usd,
    reserved_usd: row.reserved_usd,
    tags: fromJson(row.tags),
    metadata: fromJsonOrNull(row.metadata),
    trace: traceOf(row),
    store: row.store === 1,
    request_body: fromJsonOrNull(row.request_body),
    response_body: fromJsonOrNull(row.response_body),
  };
}
