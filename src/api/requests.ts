/**
 * The request log of the caller's project (`GET /v1/requests`): one row per request event, every
 * outcome, with timing and usage, never bodies, credentials or client addresses. The console's
 * Requests page reads it; bodies of stored completions are at `GET /v1/chat/completions/{id}`.
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { Store } from '../store/repositories.js';
import type { RequestEvent } from '../telemetry/request-event.js';
import {
  enumParameter,
  fromStore,
  type ListEnvelope,
  pageOf,
  type QueryParameters,
  repeatedParameter,
  rfc3339,
  textParameter,
  timeRangeOf,
  unixSeconds,
} from './platform-schemas.js';

export interface RequestLogRow {
  id: string;
  object: 'request';
  request_id: string;
  created: number;
  ts: string;
  endpoint: string;
  model: string | null;
  model_requested: string | null;
  provider: string | null;
  container: string | null;
  status: number;
  outcome: RequestEvent['outcome'];
  error_type: string | null;
  error_code: string | null;
  stream: boolean;
  finish_reason: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  upstream_latency_ms: number | null;
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    cached_tokens: number;
    reasoning_tokens: number;
  } | null;
  cost_usd: number | null;
  tags: string[];
  trace: { id: string; span_id: string | null; parent_span_id: string | null; name: string | null } | null;
  key_id: string | null;
  /** A stored completion with the bodies exists under the same id. */
  stored: boolean;
  attempts: RequestEvent['attempts'];
}

export function toRequestLogRow(event: RequestEvent): RequestLogRow {
  return {
    id: event.id,
    object: 'request',
    request_id: event.request_id,
    created: unixSeconds(event.ts),
    ts: rfc3339(event.ts),
    endpoint: event.endpoint,
    model: event.model,
    model_requested: event.model_requested,
    provider: event.provider,
    container: event.container,
    status: event.status,
    outcome: event.outcome,
    error_type: event.error_type,
    error_code: event.error_code,
    stream: event.stream,
    finish_reason: event.finish_reason,
    latency_ms: event.latency_ms,
    ttft_ms: event.ttft_ms,
    upstream_latency_ms: event.upstream_latency_ms,
    usage: event.usage
      ? {
          prompt_tokens: event.usage.prompt_tokens,
          completion_tokens: event.usage.completion_tokens,
          total_tokens: event.usage.total_tokens,
          cached_tokens: event.usage.cached_tokens,
          reasoning_tokens: event.usage.reasoning_tokens,
        }
      : null,
    cost_usd: event.cost_usd,
    tags: event.tags,
    trace: event.trace
      ? {
          id: event.trace.id,
          span_id: event.trace.span_id ?? null,
          parent_span_id: event.trace.parent_span_id ?? null,
          name: event.trace.name ?? null,
        }
      : null,
    key_id: event.key_id,
    stored: event.store && event.status === 200 && event.endpoint === 'chat.completions',
    attempts: event.attempts,
  };
}

/** GET /v1/requests: filters model, container, tag (all must match), trace_id, from, to, status. */
export async function listRequests(
  store: Pick<Store, 'requestEvents'>,
  projectId: string,
  query: QueryParameters,
): Promise<ListEnvelope<RequestLogRow>> {
  const model = textParameter(query, 'model');
  const container = textParameter(query, 'container');
  const traceId = textParameter(query, 'trace_id');
  const tags = repeatedParameter(query, 'tag');
  const outcome = enumParameter(query, 'status', ['success', 'error'] as const);
  const { data, total } = await fromStore(() =>
    store.requestEvents.listEvents({
      projectId,
      ...(model === undefined ? {} : { model }),
      ...(container === undefined ? {} : { container }),
      ...(traceId === undefined ? {} : { traceId }),
      ...(tags === undefined ? {} : { tags }),
      ...(outcome === undefined ? {} : { outcome }),
      ...timeRangeOf(query),
      ...pageOf(query),
    }),
  );
  return { object: 'list', data: data.map(toRequestLogRow), total };
}

/** GET /v1/requests/{id}: one event of the caller's project, or 404 `request_not_found`. */
export async function retrieveRequest(
  store: Pick<Store, 'requestEvents'>,
  projectId: string,
  id: string,
): Promise<RequestLogRow> {
  const event = await fromStore(() => store.requestEvents.getEvent(projectId, id));
  if (!event) throw new GatewayError('request_not_found', { id });
  return toRequestLogRow(event);
}
