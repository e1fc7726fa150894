import { type CredentialKind, clearCredential, credential } from './session';

/** The gateway's error envelope (docs/errors.md), or a transport failure. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type QueryValue = string | number | readonly string[] | undefined;

/** `?a=1&tag=x&tag=y`, skipping empty values. Only filters go in query strings, never credentials. */
export function queryString(query: Record<string, QueryValue>): string {
  const parameters = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === '') continue;
    if (Array.isArray(value)) for (const item of value) parameters.append(name, item);
    else parameters.append(name, String(value));
  }
  const text = parameters.toString();
  return text ? `?${text}` : '';
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** Which credential to send; default `key`. */
  as?: CredentialKind;
}

async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  let code: string | null = null;
  let param: string | null = null;
  try {
    const body = (await response.json()) as { error?: { message?: string; code?: string; param?: string } };
    if (body.error?.message) message = body.error.message;
    code = body.error?.code ?? null;
    param = body.error?.param ?? null;
  } catch {
    // Not the JSON envelope (a proxy's error page): the status line says enough.
  }
  return new ApiError(message, response.status, code, param);
}

/**
 * Sends one call to the gateway this console is served by: paths are origin-relative, so the console
 * works on whatever host and port serves it. A 401 drops the credential (revoked or expired), which
 * sends the user back to the sign-in page.
 */
export async function send(path: string, options: RequestOptions = {}): Promise<Response> {
  const kind = options.as ?? 'key';
  const token = credential(kind);
  if (token === undefined) throw new ApiError('Not signed in.', 401, 'missing_api_key');
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 401) {
    const error = await errorOf(response);
    clearCredential(kind);
    throw error;
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options);
  return (await response.json()) as T;
}

/** Checks a credential without keeping it: which kind it is, or the reason it was refused. */
export async function identify(token: string): Promise<CredentialKind> {
  const headers = { authorization: `Bearer ${token}` };
  const admin = await fetch('/admin/v1/organizations', { headers, cache: 'no-store', credentials: 'omit' });
  if (admin.ok) return 'admin';
  const models = await fetch('/v1/models', { headers, cache: 'no-store', credentials: 'omit' });
  if (models.ok) return 'key';
  throw await errorOf(models);
}

export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  total?: number;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

export interface ToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

export interface ContentPart {
  type: string;
  text?: string;
  refusal?: string;
  image_url?: { url?: string };
  input_audio?: { format?: string };
  file?: { filename?: string; file_id?: string };
}

export interface ChatMessage {
  role: string;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  reasoning?: string | null;
  refusal?: string | null;
}

export interface TraceRef {
  id: string;
  span_id?: string | null;
  parent_span_id?: string | null;
  name?: string | null;
  source?: string | null;
}

/** SPEC §11.1. */
export interface StoredCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string | null;
  provider: string | null;
  container: string | null;
  choices: { index: number; finish_reason?: string | null; message?: ChatMessage }[];
  usage: Usage | null;
  source: 'gateway' | 'register';
  status: 'completed' | 'pending' | 'failed';
  model_requested: string | null;
  cost_usd: number | null;
  tags: string[];
  metadata: Record<string, unknown> | null;
  trace: TraceRef | null;
  input: { messages?: ChatMessage[]; [key: string]: unknown } | null;
  error?: { code: string; message: string };
}

/**
 * One request event, of any outcome: the proposed `GET /v1/requests` (docs/console.md, "Endpoints
 * the console asks for"). Until the gateway serves it the console lists stored completions instead.
 */
export interface RequestEventRow {
  id: string;
  object: 'request';
  request_id?: string;
  /** Unix seconds, like every platform object. */
  created: number;
  /** RFC 3339 with milliseconds, like a trace's requests. */
  ts?: string;
  endpoint: string;
  model: string | null;
  model_requested?: string | null;
  provider: string | null;
  container: string | null;
  status: number;
  outcome: 'success' | 'error' | 'client_disconnected' | 'stream_error';
  error_code: string | null;
  error_type?: string | null;
  stream?: boolean;
  finish_reason?: string | null;
  latency_ms: number | null;
  ttft_ms: number | null;
  upstream_latency_ms?: number | null;
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    cached_tokens?: number;
    reasoning_tokens?: number;
  } | null;
  cost_usd: number | null;
  tags: string[];
  trace: TraceRef | null;
  key_id?: string | null;
  stored?: boolean;
  attempts?: {
    model: string;
    provider: string;
    status: number;
    error_code: string | null;
    latency_ms: number;
  }[];
}

/** SPEC §11.2. */
export interface Container {
  id: string;
  object: 'container';
  label: string;
  model: string;
  initial_model: string;
  deployed_model: string | null;
  system_prompt: string | null;
  initial_system_prompt: string | null;
  models: string[];
  created_at: number;
  updated_at: number;
}

/** SPEC §11.3. */
export interface Trace {
  id: string;
  object: 'trace';
  name: string | null;
  source: string | null;
  first_seen: string;
  last_seen: string;
  request_count: number;
  container_count: number;
  error_count: number;
}

export interface TraceRequest {
  id: string;
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

export interface TraceDetail extends Trace {
  requests: TraceRequest[];
}

/** SPEC §11.4. */
export interface UsageRow {
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

export interface CatalogModel {
  id: string;
  object: 'model';
  owned_by?: string;
}

/** docs/admin.md. */
export interface Organization {
  object: 'organization';
  id: string;
  name: string;
  disabled: boolean;
  rate_limit: number | null;
  token_rate_limit: number | null;
  created_at: number;
}

export interface Project {
  object: 'project';
  id: string;
  org_id: string;
  name: string;
  created_at: number;
}

export interface ApiKey {
  object: 'api_key';
  id: string;
  org_id: string | null;
  project_id: string | null;
  name: string;
  prefix: string;
  status: 'active' | 'disabled' | 'revoked' | 'expired';
  expires_at: number | null;
  disabled_at: number | null;
  revoked_at: number | null;
  rate_limit: number | null;
  token_rate_limit: number | null;
  last_used_at: number | null;
  created_at: number;
  /** Only in the answer that created the key. */
  key?: string;
}

export interface Balance {
  object: 'balance';
  org_id: string;
  configured: boolean;
  balance_usd: number;
  reserved_usd: number;
  available_usd: number;
}

export interface Budget {
  object: 'budget';
  id: string;
  org_id: string;
  scope: 'org' | 'project' | 'key';
  scope_id: string;
  period: 'day' | 'month' | 'total';
  limit_usd: number;
  spent_usd: number;
}
