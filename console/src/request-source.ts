import {
  ApiError,
  api,
  type ListEnvelope,
  queryString,
  type RequestEventRow,
  type StoredCompletion,
} from './api';

/**
 * Where the request log comes from. `events` is the proposed `GET /v1/requests` (every request, any
 * outcome, with latencies); `completions` is `GET /v1/chat/completions`, which lists only successful
 * requests sent with `store: true` and carries no timings. The console asks for `events` once and
 * falls back for the rest of the page's life when the gateway answers 404 `unknown_route`.
 */
export type RequestSource = 'events' | 'completions';

export type StatusFilter = '' | 'success' | 'error' | 'pending';

export interface RequestFilters {
  model: string;
  container: string;
  tags: string[];
  status: StatusFilter;
  traceId: string;
  /** Unix seconds. */
  from: number | undefined;
  to: number | undefined;
  limit: number;
  offset: number;
}

export interface RequestRow {
  id: string;
  createdMs: number;
  model: string | null;
  provider: string | null;
  container: string | null;
  statusLabel: string;
  statusKind: 'ok' | 'error' | 'pending';
  latencyMs: number | null;
  ttftMs: number | null;
  tokens: { prompt: number; completion: number; total: number } | null;
  costUsd: number | null;
  tags: string[];
  traceId: string | null;
  /** A stored completion with the bodies exists for this id. */
  hasBodies: boolean;
}

export interface RequestPage {
  rows: RequestRow[];
  total: number;
  source: RequestSource;
}

let detected: RequestSource | undefined;

export function knownSource(): RequestSource | undefined {
  return detected;
}

export function isUnknownRoute(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.code === 'unknown_route';
}

function commonQuery(filters: RequestFilters) {
  return {
    model: filters.model,
    container: filters.container,
    tag: filters.tags,
    trace_id: filters.traceId,
    from: filters.from,
    to: filters.to,
    limit: filters.limit,
    offset: filters.offset,
  };
}

export function fromEvent(event: RequestEventRow): RequestRow {
  const isError = event.status >= 400 || event.outcome === 'stream_error';
  const label =
    event.outcome === 'success'
      ? String(event.status)
      : `${event.status}${event.error_code ? ` ${event.error_code}` : ` ${event.outcome}`}`;
  return {
    id: event.id,
    createdMs: event.ts ? Date.parse(event.ts) : event.created * 1000,
    model: event.model ?? event.model_requested ?? null,
    provider: event.provider,
    container: event.container,
    statusLabel: label,
    statusKind: isError ? 'error' : 'ok',
    latencyMs: event.latency_ms,
    ttftMs: event.ttft_ms,
    tokens: event.usage
      ? {
          prompt: event.usage.prompt_tokens,
          completion: event.usage.completion_tokens,
          total: event.usage.total_tokens,
        }
      : null,
    costUsd: event.cost_usd,
    tags: event.tags,
    traceId: event.trace?.id ?? null,
    hasBodies: event.stored ?? false,
  };
}

export function fromCompletion(completion: StoredCompletion): RequestRow {
  return {
    id: completion.id,
    createdMs: completion.created * 1000,
    model: completion.model ?? completion.model_requested,
    provider: completion.provider,
    container: completion.container,
    statusLabel: completion.status,
    statusKind: completion.status === 'failed' ? 'error' : completion.status === 'pending' ? 'pending' : 'ok',
    latencyMs: null,
    ttftMs: null,
    tokens: completion.usage
      ? {
          prompt: completion.usage.prompt_tokens,
          completion: completion.usage.completion_tokens,
          total: completion.usage.total_tokens,
        }
      : null,
    costUsd: completion.cost_usd,
    tags: completion.tags,
    traceId: completion.trace?.id ?? null,
    hasBodies: true,
  };
}

const completionStatus: Record<StatusFilter, string | undefined> = {
  '': undefined,
  success: 'completed',
  error: 'failed',
  pending: 'pending',
};

async function listFromCompletions(filters: RequestFilters, signal: AbortSignal): Promise<RequestPage> {
  const path = `/v1/chat/completions${queryString({ ...commonQuery(filters), status: completionStatus[filters.status] })}`;
  const list = await api<ListEnvelope<StoredCompletion>>(path, { signal });
  return {
    rows: list.data.map(fromCompletion),
    total: list.total ?? list.data.length,
    source: 'completions',
  };
}

export async function listRequests(filters: RequestFilters, signal: AbortSignal): Promise<RequestPage> {
  if (detected === 'completions') return listFromCompletions(filters, signal);
  const status = filters.status === 'pending' ? undefined : filters.status;
  try {
    const list = await api<ListEnvelope<RequestEventRow>>(
      `/v1/requests${queryString({ ...commonQuery(filters), status })}`,
      { signal },
    );
    detected = 'events';
    return { rows: list.data.map(fromEvent), total: list.total ?? list.data.length, source: 'events' };
  } catch (error) {
    if (!isUnknownRoute(error)) throw error;
    detected = 'completions';
    return listFromCompletions(filters, signal);
  }
}

/** The request event behind one id, when the gateway can tell (`GET /v1/requests/{id}`). */
export async function requestEvent(id: string, signal: AbortSignal): Promise<RequestEventRow | undefined> {
  if (detected === 'completions') return undefined;
  try {
    const event = await api<RequestEventRow>(`/v1/requests/${encodeURIComponent(id)}`, { signal });
    detected = 'events';
    return event;
  } catch (error) {
    if (isUnknownRoute(error)) {
      detected = 'completions';
      return undefined;
    }
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}
