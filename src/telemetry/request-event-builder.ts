import type { Clock } from '../clock.js';
import type { Ids } from '../ids.js';
import type { RequestEvent, RequestRecord } from './request-event.js';

/** What the http layer knows once a `/v1` request is over. */
export interface FinishedRequestFacts {
  requestId: string;
  principal: { keyId: string; orgId: string; projectId: string } | undefined;
  record: RequestRecord;
  status: number;
  latencyMs: number;
  receivedAtMs: number;
  userAgent: string | undefined;
  clientIp: string;
}

export interface EventOptions {
  storeBodies: boolean;
  storeClientIp: boolean;
}

const traceKeys = new Set(['id', 'span_id', 'parent_span_id', 'name', 'source']);

function traceOf(trace: Record<string, unknown> | undefined): RequestEvent['trace'] {
  if (!trace || typeof trace.id !== 'string') return null;
  const out: NonNullable<RequestEvent['trace']> = { id: trace.id };
  const context: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(trace)) {
    if (traceKeys.has(key)) (out as Record<string, unknown>)[key] = value;
    else if (key === 'trace_context' && value && typeof value === 'object') Object.assign(context, value);
    else context[key] = value;
  }
  if (Object.keys(context).length > 0) out.trace_context = context;
  return out;
}

/** The one immutable event of SPEC §10, built from what the request left in its record. */
export function toRequestEvent(
  facts: FinishedRequestFacts,
  options: EventOptions,
  ids: Ids,
  clock: Clock,
): RequestEvent {
  const record = facts.record;
  const usage = record.usage;
  const upstreamLatencyMs = record.upstreamLatencyMs ?? null;
  const isStored = record.store !== false;
  const keepBodies = isStored && options.storeBodies;
  return {
    id: record.eventId ?? ids.event(clock.now()),
    request_id: facts.requestId,
    ts: facts.receivedAtMs,
    endpoint: record.endpoint,
    org_id: facts.principal?.orgId ?? null,
    project_id: facts.principal?.projectId ?? null,
    key_id: facts.principal?.keyId ?? null,
    user_agent: facts.userAgent ?? null,
    client_ip: options.storeClientIp ? facts.clientIp : null,
    model_requested: record.modelRequested ?? null,
    model: record.model ?? null,
    provider: record.provider ?? null,
    upstream_model: record.upstreamModel ?? null,
    upstream_id: record.upstreamId ?? null,
    container: record.container ?? null,
    attempts: record.attempts,
    status: facts.status,
    outcome: record.outcome ?? (facts.status < 400 ? 'success' : 'error'),
    error_type: record.errorType ?? null,
    error_code: record.errorCode ?? null,
    stream: record.stream,
    finish_reason: record.finishReason ?? null,
    latency_ms: Math.round(facts.latencyMs),
    ttft_ms: record.ttftMs ?? null,
    upstream_latency_ms: upstreamLatencyMs,
    gateway_overhead_us:
      upstreamLatencyMs === null
        ? null
        : Math.max(0, Math.round((facts.latencyMs - upstreamLatencyMs) * 1000)),
    usage: usage
      ? {
          prompt_tokens: usage.prompt_tokens,
          completion_tokens: usage.completion_tokens,
          total_tokens: usage.total_tokens,
          cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
          cache_write_tokens: usage.prompt_tokens_details?.cache_write_tokens ?? 0,
          reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
        }
      : null,
    usage_source: record.usageSource ?? null,
    cost_usd: record.costUsd ?? null,
    reserved_usd: record.reservation ? record.reservation.amountMicros / 1_000_000 : null,
    tags: record.tags ?? [],
    metadata: record.metadata ?? null,
    trace: traceOf(record.trace),
    store: isStored,
    request_body: keepBodies ? (record.requestBody ?? null) : null,
    response_body: keepBodies ? (record.responseBody ?? null) : null,
    settlement: record.reservation
      ? { reservation_id: record.reservation.id, actual_usd_micros: record.costMicros ?? 0 }
      : null,
  };
}
