/**
 * The project-scoped half of the store contract (SPEC §10–§12): request events and what is read from
 * them, registered completions, containers and stored Responses. Re-exported by repositories.ts.
 */
import type { RequestEvent } from '../telemetry/request-event.js';
import type { LedgerSnapshot } from './repositories.js';

export type EventUsage = NonNullable<RequestEvent['usage']>;
export type EventTrace = NonNullable<RequestEvent['trace']>;

export interface Page<T> {
  data: T[];
  /** Rows matching the filters, ignoring `limit` and `offset`. */
  total: number;
}

export type CompletionSource = 'gateway' | 'register';
export type CompletionStatus = 'completed' | 'pending' | 'failed';

/**
 * A stored completion (SPEC §11.1): a successful `chat.completions` event with `store: true`
 * (`source: 'gateway'`) or a registered item (`source: 'register'`). The api layer shapes the wire
 * object: `choices` from `responseBody`, `input` from `requestBody`.
 */
export interface StoredCompletionRecord {
  id: string;
  source: CompletionSource;
  status: CompletionStatus;
  createdAt: number;
  model: string | null;
  modelRequested: string | null;
  provider: string | null;
  container: string | null;
  usage: EventUsage | null;
  costUsd: number | null;
  tags: string[];
  metadata: Record<string, unknown> | null;
  trace: EventTrace | null;
  /** The request as received (gateway) or the registered `input`; `null` once bodies were purged. */
  requestBody: unknown;
  /** The `chat.completion` (gateway) or the registered `output`; `null` while pending or purged. */
  responseBody: unknown;
  /** Only for `failed` registrations. */
  error: { code: string; message: string } | null;
}

export interface EventQuery {
  projectId: string;
  model?: string;
  container?: string;
  tags?: readonly string[];
  traceId?: string;
  from?: number;
  to?: number;
  outcome?: 'success' | 'error';
  limit: number;
  offset: number;
}

export interface CompletionFilters {
  projectId: string;
  container?: string;
  /** The served catalog id. */
  model?: string;
  /** Every tag must be present. */
  tags?: readonly string[];
  traceId?: string;
  /** Inclusive lower bound on `createdAt`. */
  from?: number;
  /** Inclusive upper bound on `createdAt`. */
  to?: number;
  status?: CompletionStatus;
  source?: CompletionSource;
}

export interface CompletionQuery extends CompletionFilters {
  limit: number;
  offset: number;
}

/** SPEC §11.3; `firstSeen`/`lastSeen` in ms (the api renders RFC 3339). */
export interface TraceSummary {
  id: string;
  /** From the latest event supplying each. */
  name: string | null;
  source: string | null;
  traceContext: Record<string, unknown> | null;
  firstSeen: number;
  lastSeen: number;
  requestCount: number;
  containerCount: number;
  /** Events with status ≥ 400 or outcome `stream_error`. */
  errorCount: number;
}

export interface TraceRequest {
  id: string;
  ts: number;
  endpoint: string;
  model: string | null;
  container: string | null;
  status: number;
  errorCode: string | null;
  latencyMs: number;
  spanId: string | null;
  parentSpanId: string | null;
}

export interface TraceDetail extends TraceSummary {
  /** Oldest first, at most 1 000. */
  requests: TraceRequest[];
}

export interface TraceQuery {
  projectId: string;
  /** Traces with at least one event carrying this `trace.source`. */
  source?: string;
  /** Traces active in [from, to]: `lastSeen ≥ from` and `firstSeen ≤ to`. */
  from?: number;
  to?: number;
  limit: number;
  offset: number;
}

export type UsageGrouping = 'day' | 'hour' | 'model' | 'container' | 'key';

export interface UsageQuery {
  projectId: string;
  from: number;
  to: number;
  groupBy: UsageGrouping;
  model?: string;
  container?: string;
  /** Endpoints counted; default {@link inferenceEndpoints}. */
  endpoints?: readonly string[];
}

/** What `/v1/usage` counts by default: requests that ran (or tried to run) a model. */
export const inferenceEndpoints: readonly string[] = ['chat.completions', 'responses'];

export interface UsageRow {
  /** Bucket start for `day`/`hour` (UTC); the query's `from` otherwise. */
  start: number;
  /** Exclusive bucket end for `day`/`hour`; the query's `to` otherwise. */
  end: number;
  model?: string | null;
  container?: string | null;
  keyId?: string | null;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

export interface PurgeResult {
  deletedEvents: number;
  clearedBodies: number;
}

export interface InsertManyResult {
  /** Rows added; events already stored (same `id`) are not counted. */
  inserted: number;
  /** Events the database can never accept (e.g. a value over a column limit), skipped, for logging. */
  rejected: { id: string; reason: string }[];
}

/** `requestEvents.insertManyCharging`'s answer: `insertMany`'s, with the organizations' snapshots. */
export interface InsertChargingResult extends InsertManyResult {
  /** A fresh snapshot of every organization with a charge in the batch, read after it committed. */
  snapshots: LedgerSnapshot[];
}

export interface RequestEventRepository {
  /**
   * Multi-row insert-or-ignore by `id`, in one transaction: replaying a batch (spool) adds nothing.
   * Rejects only when the store is unavailable: rows the database refuses are skipped and reported,
   * the rest stored, so a replayed batch never fails forever. `settlement` is not stored; the caller
   * settles it through `billing.settle`.
   */
  insertMany(events: readonly RequestEvent[]): Promise<InsertManyResult>;
  /**
   * `insertMany`, and the settlements riding on the events charged without stored reservations
   * (`billing.chargeMany`'s debit, balance and budget spend), idempotent by event id; then a snapshot
   * of each organization charged, as of `now`. On SQLite one transaction does both, and an event's
   * own row is its charge's idempotency record (decision 0014).
   */
  insertManyCharging(events: readonly RequestEvent[], now: number): Promise<InsertChargingResult>;
  /** The event as stored (latencies rounded to whole ms), or `undefined`. */
  get(orgId: string, id: string): Promise<RequestEvent | undefined>;
  /**
   * The request log of one project, every outcome, newest first (the console's Requests page).
   * `outcome: 'error'` = HTTP status ≥ 400 or a broken stream, as traces count errors.
   */
  listEvents(query: EventQuery): Promise<Page<RequestEvent>>;
  /** One event of the project, or `undefined`. */
  getEvent(projectId: string, id: string): Promise<RequestEvent | undefined>;
  /** Newest first. */
  listCompletions(query: CompletionQuery): Promise<Page<StoredCompletionRecord>>;
  getCompletion(projectId: string, id: string): Promise<StoredCompletionRecord | undefined>;
  /** Every match, newest first, read `pageSize` rows at a time (keyset pages) for exports. */
  streamCompletions(filters: CompletionFilters, pageSize?: number): AsyncIterable<StoredCompletionRecord>;
  /** Newest `lastSeen` first. */
  listTraces(query: TraceQuery): Promise<Page<TraceSummary>>;
  getTrace(projectId: string, traceId: string): Promise<TraceDetail | undefined>;
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /**
   * Retention: deletes events older than `before` and clears bodies older than `bodiesBefore`, in
   * bounded batches so no single statement holds locks for long.
   */
  purge(options: { before: number; bodiesBefore?: number }): Promise<PurgeResult>;
}

export interface RegisterCompletionInput {
  id: string;
  orgId: string;
  projectId: string;
  containerId: string;
  container: string;
  createdAt: number;
  /** `completed` with an output; `pending` when the gateway will generate one. */
  status: 'completed' | 'pending';
  model: string | null;
  modelRequested: string | null;
  provider?: string | null;
  input: unknown;
  output?: unknown;
  usage?: EventUsage | null;
  costUsd?: number | null;
  tags?: readonly string[];
  metadata?: Record<string, unknown> | null;
  trace?: EventTrace | null;
}

export interface PendingCompletion {
  id: string;
  orgId: string;
  projectId: string;
  container: string;
  modelRequested: string | null;
  input: unknown;
}

export interface RegisteredCompletionRepository {
  /** All items or none (one transaction). A container deleted later takes its items with it. */
  registerMany(items: readonly RegisterCompletionInput[]): Promise<void>;
  /** Finishes a `pending` item; `false` when it is not pending (already done, or deleted). */
  complete(input: {
    projectId: string;
    id: string;
    status: 'completed' | 'failed';
    model?: string | null;
    provider?: string | null;
    output?: unknown;
    usage?: EventUsage | null;
    costUsd?: number | null;
    error?: { code: string; message: string } | null;
  }): Promise<boolean>;
  /** Oldest pending items of every project, for the generator. */
  listPending(limit: number): Promise<PendingCompletion[]>;
}

/** SPEC §11.2; `model` = `deployedModel ?? initialModel`. */
export interface ContainerRecord {
  id: string;
  projectId: string;
  label: string;
  model: string;
  initialModel: string;
  deployedModel: string | null;
  systemPrompt: string | null;
  initialSystemPrompt: string | null;
  models: string[];
  createdAt: number;
  updatedAt: number;
}

export interface ContainerUpdate {
  /** Deploys: sets `deployedModel`, and adds it to `models`. */
  model?: string;
  systemPrompt?: string | null;
  /** Replaces `models`; the current model is always kept. */
  models?: readonly string[];
}

export interface ContainerRepository {
  /** Existing label → that container unchanged, `created: false` (200); else created (201). */
  getOrCreate(input: {
    projectId: string;
    label: string;
    initialModel: string;
    initialSystemPrompt: string | null;
    now: number;
  }): Promise<{ container: ContainerRecord; created: boolean }>;
  /** Newest first. */
  list(projectId: string, page?: { limit: number; offset: number }): Promise<Page<ContainerRecord>>;
  get(projectId: string, label: string): Promise<ContainerRecord | undefined>;
  update(
    projectId: string,
    label: string,
    update: ContainerUpdate,
    now: number,
  ): Promise<ContainerRecord | undefined>;
  /** Appends ids not yet attached, keeping order. */
  attachModels(
    projectId: string,
    label: string,
    models: readonly string[],
    now: number,
  ): Promise<ContainerRecord | undefined>;
  /** Deletes the container and its registered completions; returns its id. */
  delete(projectId: string, label: string): Promise<{ id: string } | undefined>;
}

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'incomplete';

/** A stored Response (SPEC §12); `response` is the wire `Response` object as last checkpointed. */
export interface ResponseRecord {
  id: string;
  orgId: string;
  projectId: string | null;
  keyId: string | null;
  status: ResponseStatus;
  isBackground: boolean;
  model: string | null;
  previousResponseId: string | null;
  /** What the job needs to run (the mapped request), kept for background workers. */
  request: unknown;
  response: unknown;
  error: { code: string; message: string } | null;
  /** The worker that claimed a background job. */
  workerId: string | null;
  createdAt: number;
  updatedAt: number;
}

export type SaveResponseInput = Omit<ResponseRecord, 'workerId' | 'updatedAt'> & { workerId?: string | null };

export interface ResponseUpdate {
  status?: ResponseStatus;
  response?: unknown;
  error?: { code: string; message: string } | null;
  now: number;
  /** Compare-and-set: update only while the status is one of these. */
  ifStatusIn?: readonly ResponseStatus[];
}

export interface ResponseRepository {
  /** Inserts, or replaces the whole record with the same id. */
  save(record: SaveResponseInput): Promise<void>;
  get(orgId: string, id: string): Promise<ResponseRecord | undefined>;
  delete(orgId: string, id: string): Promise<boolean>;
  /** `orgId` `undefined` only for workers, which act on jobs they claimed. */
  update(orgId: string | undefined, id: string, update: ResponseUpdate): Promise<ResponseRecord | undefined>;
  /**
   * Claims the oldest `queued` background job (`in_progress`, `workerId` set). Concurrent claimers
   * never get the same job (row locks that skip locked rows on PostgreSQL).
   */
  claimNext(input: { workerId: string; now: number }): Promise<ResponseRecord | undefined>;
  countQueued(): Promise<number>;
  /** Retention: deletes responses created before `before`; returns how many. */
  purge(before: number): Promise<number>;
}
