import type { Usage } from '../api/wire/chat.js';

/** One try at one candidate, as the request log records it (SPEC §10 `attempts[]`). */
export interface Attempt {
  model: string;
  provider: string;
  status: number;
  error_code: string | null;
  latency_ms: number;
}

export type Outcome = 'success' | 'error' | 'client_disconnected' | 'stream_error';

/**
 * What the api layer learns while serving one request; the http layer completes it with status and
 * timing and turns it into the one request event of SPEC §10.
 */
export interface RequestRecord {
  endpoint: string;
  eventId?: string;
  modelRequested?: string;
  model?: string;
  provider?: string;
  upstreamModel?: string;
  upstreamId?: string;
  container?: string;
  attempts: Attempt[];
  stream: boolean;
  finishReason?: string;
  usage?: Usage;
  usageSource?: 'upstream' | 'estimated';
  costUsd?: number | null;
  /** Settled cost in micro-dollars (0 when nothing was produced). */
  costMicros?: number;
  /** The billing reservation held for this request, settled with its event. */
  reservation?: { id: string; amountMicros: number };
  ttftMs?: number;
  upstreamLatencyMs?: number;
  outcome?: Outcome;
  errorType?: string;
  errorCode?: string;
  tags?: string[];
  metadata?: Record<string, unknown>;
  trace?: Record<string, unknown>;
  store?: boolean;
  requestBody?: unknown;
  responseBody?: unknown;
  /** Set by streams once their last frame is written, so the http layer can finish the record. */
  status?: number;
}

export function newRequestRecord(endpoint: string): RequestRecord {
  return { endpoint, attempts: [], stream: false };
}

/** The one immutable record of a `/v1` request (SPEC §10), as queued, spooled and stored. */
export interface RequestEvent {
  id: string;
  request_id: string;
  /** Unix milliseconds. */
  ts: number;
  endpoint: string;
  org_id: string | null;
  project_id: string | null;
  key_id: string | null;
  user_agent: string | null;
  client_ip: string | null;
  model_requested: string | null;
  model: string | null;
  provider: string | null;
  upstream_model: string | null;
  upstream_id: string | null;
  container: string | null;
  attempts: Attempt[];
  status: number;
  outcome: Outcome;
  error_type: string | null;
  error_code: string | null;
  stream: boolean;
  finish_reason: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  upstream_latency_ms: number | null;
  gateway_overhead_us: number | null;
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    cached_tokens: number;
    cache_write_tokens: number;
    reasoning_tokens: number;
  } | null;
  usage_source: 'upstream' | 'estimated' | null;
  cost_usd: number | null;
  reserved_usd: number | null;
  tags: string[];
  metadata: Record<string, unknown> | null;
  trace: {
    id: string;
    span_id?: string;
    parent_span_id?: string;
    name?: string;
    source?: string;
    trace_context?: Record<string, unknown>;
  } | null;
  store: boolean;
  request_body: unknown | null;
  response_body: unknown | null;
  /** Billing settlement that rides with the event, applied idempotently by event id (SPEC §8.2). */
  settlement?: { reservation_id: string; actual_usd_micros: number } | null;
}
