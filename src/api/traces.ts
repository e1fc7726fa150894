/**
 * Traces (SPEC §11.3): request events grouped by `trace.id`, across containers, within the caller's
 * project. Times render as RFC 3339 date-times.
 */
import { GatewayError } from '../errors/gateway-error.js';
import type {
  Store,
  TraceDetail,
  TraceRequest as TraceRequestRecord,
  TraceSummary,
} from '../store/repositories.js';
import {
  fromStore,
  type ListEnvelope,
  pageOf,
  type QueryParameters,
  rfc3339,
  textParameter,
  timeRangeOf,
} from './platform-schemas.js';

export interface Trace {
  id: string;
  object: 'trace';
  name: string | null;
  source: string | null;
  trace_context: Record<string, unknown> | null;
  first_seen: string;
  last_seen: string;
  request_count: number;
  container_count: number;
  error_count: number;
}

export interface TraceRequest {
  id: string;
  /** RFC 3339, like the trace's own times. */
  ts: string;
  endpoint: string;
  model: string | null;
  container: string | null;
  status: number;
  error_code: string | null;
  latency_ms: number;
  span_id: string | null;
  parent_span_id: string | null;
}

export interface TraceWithRequests extends Trace {
  /** Oldest first, at most 1 000. */
  requests: TraceRequest[];
}

function toTrace(summary: TraceSummary): Trace {
  return {
    id: summary.id,
    object: 'trace',
    name: summary.name,
    source: summary.source,
    trace_context: summary.traceContext,
    first_seen: rfc3339(summary.firstSeen),
    last_seen: rfc3339(summary.lastSeen),
    request_count: summary.requestCount,
    container_count: summary.containerCount,
    error_count: summary.errorCount,
  };
}

function toTraceRequest(request: TraceRequestRecord): TraceRequest {
  return {
    id: request.id,
    ts: rfc3339(request.ts),
    endpoint: request.endpoint,
    model: request.model,
    container: request.container,
    status: request.status,
    error_code: request.errorCode,
    latency_ms: request.latencyMs,
    span_id: request.spanId,
    parent_span_id: request.parentSpanId,
  };
}

/** GET /v1/traces: most recently active first; filters `source`, `from`, `to` (Unix seconds). */
export async function listTraces(
  store: Pick<Store, 'requestEvents'>,
  projectId: string,
  query: QueryParameters,
): Promise<ListEnvelope<Trace>> {
  const page = pageOf(query);
  const source = textParameter(query, 'source');
  const range = timeRangeOf(query);
  const { data, total } = await fromStore(() =>
    store.requestEvents.listTraces({
      projectId,
      ...(source === undefined ? {} : { source }),
      ...range,
      ...page,
    }),
  );
  return { object: 'list', data: data.map(toTrace), total };
}

/** GET /v1/traces/{id}: the aggregate plus its requests, oldest first. */
export async function retrieveTrace(
  store: Pick<Store, 'requestEvents'>,
  projectId: string,
  traceId: string,
): Promise<TraceWithRequests> {
  const detail: TraceDetail | undefined = await fromStore(() =>
    store.requestEvents.getTrace(projectId, traceId),
  );
  if (!detail) throw new GatewayError('trace_not_found', { id: traceId });
  return { ...toTrace(detail), requests: detail.requests.map(toTraceRequest) };
}
