import type { Principal } from '../auth/principal.js';
import type { BillingGate } from '../billing/billing-gate.js';
import { actualCost } from '../billing/cost.js';
import { imagePartsOf } from '../billing/prompt-tokens.js';
import { estimatedUsage, estimatePromptTokens, normalizeUsage } from '../billing/usage-estimate.js';
import type { Clock } from '../clock.js';
import type { Config, ProviderType, TimeoutsConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Ids } from '../ids.js';
import type { Provider, ProviderCompletion, UpstreamTarget } from '../providers/provider.js';
import { type ContainerRouter, parseContainerModel } from '../routing/containers.js';
import { DispatchError, dispatchChat } from '../routing/dispatch.js';
import type { CatalogModel, ModelCatalog } from '../routing/model-catalog.js';
import { ChatChunkWriter } from '../stream/chat-chunk-writer.js';
import type { StreamPart } from '../stream/stream-part.js';
import type { StreamPartNormalizer } from '../stream/stream-part-normalizer.js';
import type { Outcome, RequestRecord } from '../telemetry/request-event.js';
import { type AbortSignalLike, AbortSource } from '../upstream/abort-source.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import { checkCandidateModel, checkChatCompletionRequest } from './chat-completion-rules.js';
import { chatCompletionRequestSchema } from './chat-completion-schema.js';
import { chatFrames } from './chat-completion-stream.js';
import { compileBodyValidator } from './request-validation.js';
import type { ChatCompletion, ChatCompletionRequest, Usage } from './wire/chat.js';

export interface ChatCompletionsDeps {
  config: Config;
  catalog: ModelCatalog;
  providers: Partial<Record<ProviderType, Provider>>;
  upstream: UpstreamClient;
  ids: Ids;
  clock: Clock;
  /** The billing pre-flight; absent in tests that run without a store. */
  billing?: BillingGate;
  /** Resolves `maniac:<label>` routes; without it container routes are unknown models. */
  containers?: ContainerRouter;
}

export interface RequestContext {
  requestId: string;
  principal: Principal;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  receivedAtMs: number;
  record: RequestRecord;
  /** The W3C `traceparent` header, used when the body has no `trace`. */
  traceparent?: string;
}

/** What `handle` takes: its signal may be the cheaper `AbortSource` instead of an `AbortSignal`. */
export type ChatRequestContext = Omit<RequestContext, 'signal'> & { signal: AbortSignalLike };

/** What the pipeline settled on before dispatch (SPEC §9.3 steps 9–11): the request and its candidates. */
export interface PreparedChat {
  request: ChatCompletionRequest;
  candidates: UpstreamTarget[];
  container: string | undefined;
}

/** The identity and record of a request being prepared (a background job keeps its creator's). */
export interface PrepareContext {
  principal: Principal;
  record: RequestRecord;
  traceparent?: string;
}

/**
 * The upstream's answer before an API shapes it. A completion is already settled in the record; a
 * stream is settled by `finish` once its consumer is done, with the normalizer that read it.
 */
export type ChatOutcome =
  | {
      kind: 'completion';
      target: UpstreamTarget;
      headers: Record<string, string>;
      completion: ProviderCompletion;
      usage: Usage;
    }
  | {
      kind: 'stream';
      target: UpstreamTarget;
      headers: Record<string, string>;
      first: StreamPart[];
      rest: AsyncIterator<StreamPart[]>;
      /** Stops the deadline, records usage (upstream or estimated) and cost, sets the outcome. */
      finish(normalizer: StreamPartNormalizer, outcome: Outcome): Usage;
    };

export type ChatCompletionsResult =
  | { kind: 'json'; status: 200; headers: Record<string, string>; body: string }
  | { kind: 'stream'; headers: Record<string, string>; frames: AsyncIterable<string> };

const validateChatCompletionRequest =
  compileBodyValidator<ChatCompletionRequest>(chatCompletionRequestSchema);

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** A valid W3C `traceparent` stands in for a missing `trace` (SPEC §3.1). */
function traceFromTraceparent(header: string | undefined): Record<string, unknown> | undefined {
  const match = header === undefined ? null : traceparentPattern.exec(header.trim());
  if (!match || /^0+$/.test(match[1] as string) || /^0+$/.test(match[2] as string)) return undefined;
  return { id: match[1], span_id: match[2], source: 'traceparent' };
}

class DeadlineExceeded extends Error {
  override name = 'TimeoutError';
}

/** POST /v1/chat/completions: validate, resolve, dispatch with fallbacks, shape the answer. */
export class ChatCompletionsHandler {
  constructor(private readonly deps: ChatCompletionsDeps) {}

  private providerFor = (target: UpstreamTarget): Provider => {
    const provider = this.deps.providers[target.provider.type];
    if (!provider) {
      throw new GatewayError(
        'upstream_error',
        {
          provider: target.provider.name,
          upstreamMessage: `provider type '${target.provider.type}' is not available`,
        },
        { shouldFallBack: true },
      );
    }
    return provider;
  };

  /** Merged once per catalog entry: config, then provider, then model (they do not change after load). */
  private readonly timeoutsByModel = new WeakMap<
    CatalogModel,
    { provider: UpstreamTarget['provider']; timeouts: TimeoutsConfig }
  >();

  private timeoutsFor = (target: UpstreamTarget): TimeoutsConfig => {
    const cached = this.timeoutsByModel.get(target.model);
    if (cached?.provider === target.provider) return cached.timeouts;
    const timeouts = { ...this.deps.config.timeouts, ...target.provider.timeouts, ...target.model.timeouts };
    this.timeoutsByModel.set(target.model, { provider: target.provider, timeouts });
    return timeouts;
  };

  private targetFor(model: CatalogModel): UpstreamTarget {
    const provider = this.deps.catalog.providers.get(model.provider);
    if (!provider) throw new GatewayError('model_not_found', { model: model.id }, { param: 'model' });
    return { provider, model };
  }

  /** The container route of SPEC §5.3: its model (or the pin) and its prompt, if the name is one. */
  private async resolveContainer(
    request: ChatCompletionRequest,
    projectId: string,
  ): Promise<{ label: string; model: CatalogModel; systemPrompt: string | null } | undefined> {
    const route = parseContainerModel(request.model);
    if (!route) return undefined;
    const container = route.label ? await this.deps.containers?.find(projectId, route.label) : undefined;
    if (!container) throw new GatewayError('model_not_found', { model: request.model }, { param: 'model' });
    const current = this.deps.catalog.find(container.model);
    let model = current;
    if (route.pin !== undefined) {
      const pinned = this.deps.catalog.find(route.pin);
      const isAttached =
        pinned !== undefined &&
        (pinned === current || container.models.some((id) => this.deps.catalog.find(id) === pinned));
      model = isAttached ? pinned : undefined;
    }
    if (!model) throw new GatewayError('model_not_found', { model: request.model }, { param: 'model' });
    return { label: container.label, model, systemPrompt: container.systemPrompt };
  }

  /** Steps 9–10 of SPEC §9.3: the model (or container) and fallbacks resolved, every candidate checked. */
  async resolveCandidates(
    request: ChatCompletionRequest,
    projectId: string,
    api: 'chat' | 'responses' = 'chat',
  ): Promise<{ targets: UpstreamTarget[]; container: string | undefined; systemPrompt: string | null }> {
    const container = await this.resolveContainer(request, projectId);
    const primary = container?.model ?? this.deps.catalog.resolve(request.model, 'model');
    const models = [primary];
    for (const name of request.models ?? []) {
      const model = this.deps.catalog.resolve(name, 'models');
      if (!models.includes(model)) models.push(model);
    }
    const targets = models.map((model) => this.targetFor(model));
    for (const target of targets) {
      checkCandidateModel(request, target.model, api);
      this.deps.providers[target.provider.type]?.checkRequest(request, target);
    }
    return { targets, container: container?.label, systemPrompt: container?.systemPrompt ?? null };
  }

  /**
   * Steps 9–11 of SPEC §9.3 for a validated request: resolution with the container prompt, every
   * candidate checked, then the billing reservation, all noted in the record.
   */
  async prepare(
    request: ChatCompletionRequest,
    context: PrepareContext,
    api: 'chat' | 'responses',
  ): Promise<PreparedChat> {
    const record = context.record;
    record.modelRequested = request.model;
    record.stream = request.stream === true;
    record.tags = request.tags;
    record.metadata = request.metadata;
    record.trace =
      (request.trace as Record<string, unknown> | undefined) ?? traceFromTraceparent(context.traceparent);
    record.store = request.store !== false;
    const resolved = await this.resolveCandidates(request, context.principal.projectId, api);
    if (
      resolved.systemPrompt &&
      !request.messages.some((message) => message.role === 'system' || message.role === 'developer')
    ) {
      // The container prompt applies only when the request brings no system message of its own.
      request.messages = [{ role: 'system', content: resolved.systemPrompt }, ...request.messages];
    }
    record.container = resolved.container;
    record.requestBody = request;
    const reservation = await this.deps.billing?.reserve(context.principal, request, resolved.targets);
    if (reservation) record.reservation = reservation;
    record.costMicros = 0;
    return { request, candidates: resolved.targets, container: resolved.container };
  }

  /** A prepared request rebuilt from catalog ids (a background job run after its creation). */
  restore(
    request: ChatCompletionRequest,
    candidateIds: string[],
    container: string | undefined,
  ): PreparedChat {
    const candidates = candidateIds.map((id) => {
      const model = this.deps.catalog.find(id);
      if (!model) throw new GatewayError('model_not_found', { model: id }, { param: 'model' });
      return this.targetFor(model);
    });
    return { request, candidates, container };
  }

  /** Records the cost of `usage` on `model` (SPEC §8.2). */
  private settle(record: RequestRecord, request: ChatCompletionRequest, model: CatalogModel, usage: Usage) {
    const cost = actualCost(model.pricing, usage, imagePartsOf(request));
    record.costMicros = cost.micros;
    record.costUsd = cost.usd;
  }

  /** Step 12: dispatch with fallbacks under the total deadline; the answer is noted in the record. */
  async dispatch(
    prepared: PreparedChat,
    context: { signal: AbortSignalLike; record: RequestRecord },
  ): Promise<ChatOutcome> {
    const { request, candidates } = prepared;
    const record = context.record;
    const deadline = new AbortSource();
    const onClientAbort = () => deadline.abort(context.signal.reason);
    if (context.signal.aborted) onClientAbort();
    else context.signal.addEventListener('abort', onClientAbort, { once: true });
    let totalMs = 0;
    for (const target of candidates) totalMs = Math.max(totalMs, this.timeoutsFor(target).totalMs);
    const timer = setTimeout(() => deadline.abort(new DeadlineExceeded('total deadline')), totalMs);
    const release = () => {
      clearTimeout(timer);
      context.signal.removeEventListener('abort', onClientAbort);
    };

    let result: Awaited<ReturnType<typeof dispatchChat>>;
    const startedAt = this.deps.clock.monotonic();
    try {
      result = await dispatchChat({
        request,
        candidates,
        providerFor: this.providerFor,
        upstream: this.deps.upstream,
        timeoutsFor: this.timeoutsFor,
        signal: deadline,
        maxResponseBytes: this.deps.config.server.maxResponseBytes,
        monotonic: this.deps.clock.monotonic,
      });
    } catch (error) {
      release();
      if (error instanceof DispatchError) {
        record.attempts = error.attempts;
        throw error.error;
      }
      throw error;
    }
    record.attempts = result.attempts;
    record.upstreamLatencyMs = Math.round(this.deps.clock.monotonic() - startedAt);
    const target = result.target;
    record.model = target.model.id;
    record.provider = target.provider.name;
    record.upstreamModel = target.model.upstreamModel;
    const headers: Record<string, string> = {
      'x-maniac-provider': target.provider.name,
      'x-maniac-model': target.model.id,
      'x-maniac-attempts': String(result.attempts.length),
    };
    const promptEstimate = () => estimatePromptTokens(request.messages, request.tools);

    if (result.kind === 'completion') {
      release();
      const completion = result.completion;
      const message = completion.message;
      if (request.reasoning?.exclude) {
        delete message.reasoning;
        delete message.reasoning_details;
      }
      let usage: Usage;
      if (completion.usage) {
        usage = normalizeUsage(completion.usage);
        record.usageSource = 'upstream';
      } else {
        const generated =
          (message.content?.length ?? 0) +
          (message.reasoning?.length ?? 0) +
          (message.tool_calls ?? []).reduce((sum, call) => sum + call.function.arguments.length, 0);
        usage = estimatedUsage(promptEstimate(), generated);
        record.usageSource = 'estimated';
      }
      record.upstreamId = completion.upstreamId;
      record.finishReason = completion.finishReason;
      record.usage = usage;
      this.settle(record, request, target.model, usage);
      record.outcome = 'success';
      return { kind: 'completion', target, headers, completion, usage };
    }

    const finish = (normalizer: StreamPartNormalizer, outcome: Outcome): Usage => {
      release();
      const upstreamUsage = normalizer.usage;
      const usage = upstreamUsage
        ? normalizeUsage(upstreamUsage)
        : estimatedUsage(promptEstimate(), normalizer.assembler.generatedCharacters());
      record.usageSource = upstreamUsage ? 'upstream' : 'estimated';
      record.usage = usage;
      // Success is charged in full; a broken or abandoned stream for the prompt and output so far.
      this.settle(record, request, target.model, usage);
      record.upstreamId = normalizer.upstreamId;
      record.outcome = outcome;
      return usage;
    };
    return { kind: 'stream', target, headers, first: result.first, rest: result.rest, finish };
  }

  async handle(body: unknown, context: ChatRequestContext): Promise<ChatCompletionsResult> {
    const request = await validateChatCompletionRequest(body);
    checkChatCompletionRequest(request);
    const record = context.record;
    const prepared = await this.prepare(request, context, 'chat');
    const container = prepared.container;
    const outcome = await this.dispatch(prepared, context);
    const target = outcome.target;
    const headers = outcome.headers;
    const id = this.deps.ids.chatCompletion();
    const created = Math.floor(context.receivedAtMs / 1000);
    record.eventId = id;

    if (outcome.kind === 'completion') {
      const upstream = outcome.completion;
      // One literal, one shape: absent optional fields are `undefined`, which JSON leaves out.
      const completion: ChatCompletion = {
        id,
        object: 'chat.completion',
        created,
        model: target.model.id,
        provider: target.provider.name,
        container: container || undefined,
        system_fingerprint: upstream.systemFingerprint || undefined,
        choices: [
          {
            index: 0,
            finish_reason: upstream.finishReason,
            logprobs: upstream.logprobs ?? null,
            message: upstream.message,
          },
        ],
        usage: outcome.usage,
      };
      record.responseBody = completion;
      return { kind: 'json', status: 200, headers, body: JSON.stringify(completion) };
    }

    const writer = new ChatChunkWriter(
      {
        id,
        created,
        model: target.model.id,
        provider: target.provider.name,
        ...(container ? { container } : {}),
      },
      {
        includeUsage: request.stream_options?.include_usage === true,
        excludeReasoning: request.reasoning?.exclude === true,
        newToolCallId: this.deps.ids.toolCall,
      },
    );
    const frames = chatFrames({
      outcome,
      writer,
      record,
      signal: context.signal,
      receivedAtMs: context.receivedAtMs,
      now: () => this.deps.clock.now(),
    });
    return { kind: 'stream', headers, frames };
  }
}
