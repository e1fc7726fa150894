/**
 * Stored completions (SPEC §11.1): successful `store: true` chat completions that went through the
 * gateway, and items registered for traffic that did not. List, retrieve, register, and the JSONL
 * export in the chat fine-tuning format.
 */
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors/gateway-error.js';
import { ids } from '../ids.js';
import type { ModelCatalog } from '../routing/model-catalog.js';
import type {
  CompletionFilters,
  CompletionSource,
  CompletionStatus,
  EventTrace,
  EventUsage,
  RegisterCompletionInput,
  RequestEventRepository,
  Store,
  StoredCompletionRecord,
} from '../store/repositories.js';
import {
  parseRegisterRequest,
  type RegisteredChoice,
  withoutGatewayFields,
} from './completion-register-schema.js';
import {
  enumParameter,
  fromStore,
  isJsonObject,
  type JsonObject,
  type ListEnvelope,
  pageOf,
  type QueryParameters,
  repeatedParameter,
  textParameter,
  timeRangeOf,
  unixSeconds,
} from './platform-schemas.js';
import type { ChatCompletion, Usage } from './wire/chat.js';

/** The wire object: the `chat.completion` fields plus what the gateway knows about it. */
export interface StoredCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string | null;
  provider: string | null;
  container: string | null;
  /** Empty while a registered item is `pending` (or once bodies were purged). */
  choices: RegisteredChoice[];
  usage: Usage | null;
  source: CompletionSource;
  status: CompletionStatus;
  model_requested: string | null;
  cost_usd: number | null;
  tags: string[];
  metadata: Record<string, unknown> | null;
  trace: EventTrace | null;
  /** The request body minus gateway-only fields; `null` once bodies were purged. */
  input: unknown;
  /** Only on `failed` registrations. */
  error?: { code: string; message: string };
}

const statuses: readonly CompletionStatus[] = ['completed', 'pending', 'failed'];
const sources: readonly CompletionSource[] = ['gateway', 'register'];

function toUsage(usage: EventUsage | null): Usage | null {
  if (!usage) return null;
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
  };
}

function choicesOf(responseBody: unknown): RegisteredChoice[] {
  if (!isJsonObject(responseBody) || !Array.isArray(responseBody.choices)) return [];
  return responseBody.choices as RegisteredChoice[];
}

export function toStoredCompletion(record: StoredCompletionRecord): StoredCompletion {
  return {
    id: record.id,
    object: 'chat.completion',
    created: unixSeconds(record.createdAt),
    model: record.model,
    provider: record.provider,
    container: record.container,
    choices: choicesOf(record.responseBody),
    usage: toUsage(record.usage),
    source: record.source,
    status: record.status,
    model_requested: record.modelRequested,
    cost_usd: record.costUsd,
    tags: record.tags,
    metadata: record.metadata,
    trace: record.trace,
    input: withoutGatewayFields(record.requestBody) ?? null,
    ...(record.status === 'failed' && record.error ? { error: record.error } : {}),
  };
}

/**
 * The list filters: `container`, `model` (served catalog id), `tag` (repeatable, all must match),
 * `trace_id`, `from`/`to` (Unix seconds), `status`, `source`. Shared with the export command.
 */
export function completionFiltersOf(query: QueryParameters, projectId: string): CompletionFilters {
  const filters: CompletionFilters = { projectId, ...timeRangeOf(query) };
  const container = textParameter(query, 'container');
  if (container !== undefined) filters.container = container;
  const model = textParameter(query, 'model');
  if (model !== undefined) filters.model = model;
  const tags = repeatedParameter(query, 'tag');
  if (tags !== undefined) filters.tags = tags;
  const traceId = textParameter(query, 'trace_id');
  if (traceId !== undefined) filters.traceId = traceId;
  const status = enumParameter(query, 'status', statuses);
  if (status !== undefined) filters.status = status;
  const source = enumParameter(query, 'source', sources);
  if (source !== undefined) filters.source = source;
  return filters;
}

/** GET /v1/chat/completions: newest first, paged, filtered. */
export async function listCompletions(
  store: Pick<Store, 'requestEvents'>,
  projectId: string,
  query: QueryParameters,
): Promise<ListEnvelope<StoredCompletion>> {
  const filters = completionFiltersOf(query, projectId);
  const page = pageOf(query);
  const { data, total } = await fromStore(() => store.requestEvents.listCompletions({ ...filters, ...page }));
  return { object: 'list', data: data.map(toStoredCompletion), total };
}

/** GET /v1/chat/completions/{id}: 404 `completion_not_found` outside the caller's project. */
export async function retrieveCompletion(
  store: Pick<Store, 'requestEvents'>,
  projectId: string,
  id: string,
): Promise<StoredCompletion> {
  const record = await fromStore(() => store.requestEvents.getCompletion(projectId, id));
  if (!record) throw new GatewayError('completion_not_found', { id });
  return toStoredCompletion(record);
}

/** Who registers: the caller's organization, project and key (billing of generations). */
export interface Registrant {
  orgId: string;
  projectId: string;
  keyId: string;
}

/**
 * A registered item without `output`, handed to the generator once the registration committed. The
 * generator runs `request` through the chat pipeline as `registrant` (billed, one request event),
 * then records the result with {@link recordGeneration}; until then the item stays `pending`.
 */
export interface PendingGeneration {
  id: string;
  registrant: Registrant;
  /** The container label the item was registered to (its system prompt is not applied). */
  container: string;
  /** Catalog id to generate with: `input.model`, else the container's model at registration. */
  model: string;
  /** `input` minus gateway-only fields, with `model` set and `store: false` (the item is the record). */
  request: JsonObject;
}

export interface RegisterDeps {
  store: Pick<Store, 'containers' | 'registeredCompletions'>;
  catalog: Pick<ModelCatalog, 'find'>;
  clock: Clock;
  /** Mints `chatcmpl-…` ids; default {@link ids.chatCompletion}. */
  newId?(): string;
  /** Starts generating one pending item; called after the registration committed, never awaited. */
  generate?(item: PendingGeneration): void;
}

export interface CompletionRegistration {
  object: 'chat.completion.registration';
  container: string;
  registered: number;
  /** Items without `output`, left `pending` until generated. */
  generating: number;
  ids: string[];
}

/**
 * POST /v1/chat/completions/register: all items or none. Unknown container → 400
 * `container_not_found` (param `container`); a bad item → 400 `invalid_value` naming it; an unknown
 * model for an item to generate → 404 `model_not_found` naming it.
 */
export async function registerCompletions(
  deps: RegisterDeps,
  registrant: Registrant,
  body: unknown,
): Promise<CompletionRegistration> {
  const request = parseRegisterRequest(body);
  const container = await fromStore(() => deps.store.containers.get(registrant.projectId, request.container));
  if (!container) {
    throw new GatewayError('container_not_found', { label: request.container }, { param: 'container' });
  }
  const now = deps.clock.now();
  const newId = deps.newId ?? ids.chatCompletion;
  const generations: PendingGeneration[] = [];
  const rows = request.items.map((item, index): RegisterCompletionInput => {
    const id = newId();
    const common = {
      id,
      orgId: registrant.orgId,
      projectId: registrant.projectId,
      containerId: container.id,
      container: container.label,
      createdAt: now,
      modelRequested: item.model ?? null,
      input: item.input,
      tags: item.tags,
      metadata: item.metadata,
      trace: item.trace,
    };
    if (item.output) {
      const model = item.output.model ?? item.model ?? null;
      const served = model === null ? undefined : deps.catalog.find(model);
      return {
        ...common,
        status: 'completed',
        model: served?.id ?? model,
        provider: served?.provider ?? null,
        output: { object: 'chat.completion', choices: item.output.choices },
        usage: item.output.usage ?? null,
      };
    }
    const wanted = item.model ?? container.model;
    const model = deps.catalog.find(wanted);
    if (!model) {
      throw new GatewayError('model_not_found', { model: wanted }, { param: `items[${index}].input.model` });
    }
    const generation: JsonObject = { ...item.input, model: model.id, store: false };
    if (item.tags.length > 0) generation.tags = item.tags;
    if (item.metadata) generation.metadata = item.metadata;
    generations.push({ id, registrant, container: container.label, model: model.id, request: generation });
    return { ...common, status: 'pending', model: null };
  });
  await fromStore(() => deps.store.registeredCompletions.registerMany(rows));
  for (const generation of generations) {
    try {
      deps.generate?.(generation);
    } catch {
      // The item stays pending; `registeredCompletions.listPending` lets a worker pick it up later.
    }
  }
  return {
    object: 'chat.completion.registration',
    container: container.label,
    registered: rows.length,
    generating: generations.length,
    ids: rows.map((row) => row.id),
  };
}

export type GenerationOutcome =
  | { status: 'completed'; completion: ChatCompletion; costUsd?: number | null }
  | { status: 'failed'; error: { code: string; message: string } };

/** Finishes a pending item with what the generator produced; `false` when it was no longer pending. */
export function recordGeneration(
  store: Pick<Store, 'registeredCompletions'>,
  item: Pick<PendingGeneration, 'id' | 'registrant'>,
  outcome: GenerationOutcome,
): Promise<boolean> {
  const target = { projectId: item.registrant.projectId, id: item.id };
  if (outcome.status === 'failed') {
    return store.registeredCompletions.complete({ ...target, status: 'failed', error: outcome.error });
  }
  const { completion } = outcome;
  const usage = completion.usage;
  return store.registeredCompletions.complete({
    ...target,
    status: 'completed',
    model: completion.model,
    provider: completion.provider,
    output: completion,
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
    costUsd: outcome.costUsd ?? null,
  });
}

/** One line of an OpenAI chat fine-tuning file. */
export interface FineTuningExample {
  messages: unknown[];
  tools?: unknown[];
  parallel_tool_calls?: boolean;
}

/**
 * The conversation with the stored answer appended as the last `assistant` message; `undefined`
 * when there is nothing to learn from (pending, failed, or bodies purged).
 */
export function toFineTuningExample(record: StoredCompletionRecord): FineTuningExample | undefined {
  if (record.status !== 'completed' || !isJsonObject(record.requestBody)) return undefined;
  const messages = record.requestBody.messages;
  const answer = choicesOf(record.responseBody)[0]?.message;
  if (!Array.isArray(messages) || !answer) return undefined;
  const hasToolCalls = Array.isArray(answer.tool_calls) && answer.tool_calls.length > 0;
  const assistant = {
    role: 'assistant',
    content: answer.content ?? null,
    ...(hasToolCalls ? { tool_calls: answer.tool_calls } : {}),
  };
  const { tools, parallel_tool_calls: parallelToolCalls } = record.requestBody;
  return {
    messages: [...messages, assistant],
    ...(Array.isArray(tools) && tools.length > 0 ? { tools } : {}),
    ...(typeof parallelToolCalls === 'boolean' ? { parallel_tool_calls: parallelToolCalls } : {}),
  };
}

/**
 * Writes every matching completion as one JSONL line, newest first, reading the store a page at a
 * time; `write` may return a promise to apply back-pressure. Returns what was written and skipped.
 */
export async function exportCompletions(
  store: { requestEvents: Pick<RequestEventRepository, 'streamCompletions'> },
  filters: readonly CompletionFilters[],
  write: (line: string) => Promise<void> | void,
  pageSize = 500,
): Promise<{ exported: number; skipped: number }> {
  let exported = 0;
  let skipped = 0;
  for (const scope of filters) {
    for await (const record of store.requestEvents.streamCompletions(scope, pageSize)) {
      const example = toFineTuningExample(record);
      if (!example) {
        skipped++;
        continue;
      }
      await write(`${JSON.stringify(example)}\n`);
      exported++;
    }
  }
  return { exported, skipped };
}
