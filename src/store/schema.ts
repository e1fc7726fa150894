/**
 * Kysely's view of the tables, as the migrations create them. Never exported beyond src/store.
 *
 * Conventions (docs/decisions/0005-storage.md): times are bigint Unix ms; money bigint micro-dollars;
 * booleans integer 0/1 on both engines; JSON columns hold JSON text on the way in and come back as
 * text on both engines (postgres.ts makes `pg` skip parsing jsonb). High-volume tables have a
 * database-generated integer `pk` and the public id in a unique `id` column.
 */
import type { Generated } from 'kysely';

/** A JSON column: JSON text in, JSON text out. */
export type JsonText = string;
/** 0 or 1. */
export type Flag = number;

export interface OrganizationsTable {
  id: string;
  name: string;
  disabled_at: number | null;
  rate_limit: number | null;
  token_rate_limit: number | null;
  created_at: number;
}

export interface ProjectsTable {
  id: string;
  org_id: string;
  name: string;
  is_default: Flag;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  org_id: string | null;
  project_id: string | null;
  name: string;
  hash: string;
  prefix: string;
  expires_at: number | null;
  disabled_at: number | null;
  revoked_at: number | null;
  rate_limit: number | null;
  token_rate_limit: number | null;
  last_used_at: number | null;
  created_at: number;
}

export interface BillingAccountsTable {
  org_id: string;
  balance_micros: number;
  /** Set by the first credit: until then prepaid requests get `billing_not_configured`. */
  configured_at: number | null;
  updated_at: number;
}

export interface BillingLedgerTable {
  pk: Generated<number>;
  org_id: string;
  kind: 'credit' | 'debit';
  /** Credits add, debits subtract; both stored as given (a debit of 0 still marks the event settled). */
  amount_micros: number;
  event_id: string | null;
  reservation_id: string | null;
  project_id: string | null;
  key_id: string | null;
  note: string | null;
  created_at: number;
}

export interface BillingReservationsTable {
  pk: Generated<number>;
  id: string;
  org_id: string;
  project_id: string | null;
  key_id: string | null;
  amount_micros: number;
  status: 'open' | 'settled' | 'released';
  actual_micros: number | null;
  created_at: number;
  closed_at: number | null;
}

export interface BudgetsTable {
  id: string;
  org_id: string;
  scope: 'org' | 'project' | 'key';
  scope_id: string;
  period: 'day' | 'month' | 'total';
  limit_micros: number;
  created_at: number;
  updated_at: number;
}

export interface BudgetSpendTable {
  scope: 'org' | 'project' | 'key';
  scope_id: string;
  period: 'day' | 'month' | 'total';
  /** Start of the UTC day or month; 0 for `total`. */
  period_start: number;
  org_id: string;
  spent_micros: number;
}

export interface RequestEventsTable {
  pk: Generated<number>;
  id: string;
  request_id: string;
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
  attempts: JsonText;
  status: number;
  outcome: string;
  error_type: string | null;
  error_code: string | null;
  stream: Flag;
  finish_reason: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  upstream_latency_ms: number | null;
  gateway_overhead_us: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
  usage_source: string | null;
  cost_usd: number | null;
  reserved_usd: number | null;
  tags: JsonText;
  metadata: JsonText | null;
  /** The event's `trace` without `trace_context`, which has its own column. */
  trace: JsonText | null;
  trace_id: string | null;
  trace_name: string | null;
  trace_source: string | null;
  trace_context: JsonText | null;
  store: Flag;
  request_body: JsonText | null;
  response_body: JsonText | null;
}

export interface RegisteredCompletionsTable {
  pk: Generated<number>;
  id: string;
  org_id: string;
  project_id: string;
  container_id: string;
  container: string;
  ts: number;
  status: 'completed' | 'pending' | 'failed';
  model: string | null;
  model_requested: string | null;
  provider: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  tags: JsonText;
  metadata: JsonText | null;
  trace: JsonText | null;
  trace_id: string | null;
  trace_context: JsonText | null;
  request_body: JsonText | null;
  response_body: JsonText | null;
  error: JsonText | null;
  updated_at: number;
}

export interface ContainersTable {
  id: string;
  project_id: string;
  label: string;
  initial_model: string;
  deployed_model: string | null;
  system_prompt: string | null;
  initial_system_prompt: string | null;
  models: JsonText;
  created_at: number;
  updated_at: number;
}

export interface ResponsesTable {
  pk: Generated<number>;
  id: string;
  org_id: string;
  project_id: string | null;
  key_id: string | null;
  status: 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'incomplete';
  background: Flag;
  model: string | null;
  previous_response_id: string | null;
  request: JsonText | null;
  response: JsonText | null;
  error: JsonText | null;
  worker_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface Database {
  organizations: OrganizationsTable;
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
  billing_accounts: BillingAccountsTable;
  billing_ledger: BillingLedgerTable;
  billing_reservations: BillingReservationsTable;
  budgets: BudgetsTable;
  budget_spend: BudgetSpendTable;
  request_events: RequestEventsTable;
  registered_completions: RegisteredCompletionsTable;
  containers: ContainersTable;
  responses: ResponsesTable;
}
