import type { Principal } from '../auth/principal.js';
import type { BillingGate } from '../billing/billing-gate.js';
import { actualCost } from '../billing/cost.js';
import { imagePartsOf } from '../billing/prompt-tokens.js';
import { estimatedUsage, estimatePromptTokens, normalizeUsage } from '../billing/usage-estimate.js';
import type { Clock } from '../clock.js';
import type { Config, ProviderType, TimeoutsConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Ids } from '../ids.js';
import type { Provider, UpstreamTarget } from '../providers/provider.js';
import { type ContainerRouter, parseContainerModel } from '../routing/containers.js';
import { DispatchError, dispatchChat } from '../routing/dispatch.js';
import type { CatalogModel, ModelCatalog } from '../routing/model-catalog.js';
import { ChatChunkWriter } from '../stream/chat-chunk-writer.js';
import type { StreamPart } from '../stream/stream-part.js';
import type { RequestRecord } from '../telemetry/request-event.js';
import { UpstreamAbortedError, type UpstreamClient } from '../upstream/upstream-client.js';
import { checkCandidateModel, checkChatCompletionRequest } from './chat-completion-rules.js';
import { chatCompletionRequestSchema } from './chat-completion-schema.js';
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

  private timeoutsFor = (target: UpstreamTarget): TimeoutsConfig => ({
    ...this.deps.config.timeouts,
    ...target.provider.timeouts,
    ...target.model.timeouts,
  });

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
      checkCandidateModel(request, target.model, 'chat');
      this.deps.providers[target.provider.type]?.checkRequest(request, target);
    }
    return { targets, container: container?.label, systemPrompt: container?.systemPrompt ?? null };
  }

  async handle(body: unknown, context: RequestContext): Promise<ChatCompletionsResult> {
    const request = validateChatCompletionRequest(body);
    checkChatCompletionRequest(request);
    const record = context.record;
    record.modelRequested = request.model;
    record.stream = request.stream === true;
    record.tags = request.tags;
    record.metadata = request.metadata;
    record.trace =
      (request.trace as Record<string, unknown> | undefined) ?? traceFromTraceparent(context.traceparent);
    record.store = request.store !== false;
    const resolved = await this.resolveCandidates(request, context.principal.projectId);
    const candidates = resolved.targets;
    const container = resolved.container;
    if (
      resolved.systemPrompt &&
      !request.messages.some((message) => message.role === 'system' || message.role === 'developer')
    ) {
      // The container prompt applies only when the request brings no system message of its own.
      request.messages = [{ role: 'system', content: resolved.systemPrompt }, ...request.messages];
    }
    record.container = container;
    record.requestBody = request;
    const reservation = await this.deps.billing?.reserve(context.principal, request, candidates);
    if (reservation) record.reservation = reservation;
    record.costMicros = 0;
    const settleCost = (model: CatalogModel, usage: Usage) => {
      const cost = actualCost(model.pricing, usage, imagePartsOf(request));
      record.costMicros = cost.micros;
      record.costUsd = cost.usd;
    };

    const deadline = new AbortController();
    const onClientAbort = () => deadline.abort(context.signal.reason);
    if (context.signal.aborted) onClientAbort();
    else context.signal.addEventListener('abort', onClientAbort, { once: true });
    const totalMs = Math.max(...candidates.map((target) => this.timeoutsFor(target).totalMs));
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
        signal: deadline.signal,
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
    const id = this.deps.ids.chatCompletion();
    const created = Math.floor(context.receivedAtMs / 1000);
    const promptEstimate = () => estimatePromptTokens(request.messages, request.tools);

    if (result.kind === 'completion') {
      release();
      const upstream = result.completion;
      const message = upstream.message;
      if (request.reasoning?.exclude) {
        delete message.reasoning;
        delete message.reasoning_details;
      }
      let usage: Usage;
      if (upstream.usage) {
        usage = normalizeUsage(upstream.usage);
        record.usageSource = 'upstream';
      } else {
        const generated =
          (message.content?.length ?? 0) +
          (message.reasoning?.length ?? 0) +
          (message.tool_calls ?? []).reduce((sum, call) => sum + call.function.arguments.length, 0);
        usage = estimatedUsage(promptEstimate(), generated);
        record.usageSource = 'estimated';
      }
      const completion: ChatCompletion = {
        id,
        object: 'chat.completion',
        created,
        model: target.model.id,
        provider: target.provider.name,
        ...(container ? { container } : {}),
        ...(upstream.systemFingerprint ? { system_fingerprint: upstream.systemFingerprint } : {}),
        choices: [
          { index: 0, finish_reason: upstream.finishReason, logprobs: upstream.logprobs ?? null, message },
        ],
        usage,
      };
      record.eventId = id;
      record.upstreamId = upstream.upstreamId;
      record.finishReason = upstream.finishReason;
      record.usage = usage;
      settleCost(target.model, usage);
      record.responseBody = completion;
      record.outcome = 'success';
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
    record.eventId = id;
    const clock = this.deps.clock;
    const first = result.first;
    const rest = result.rest;
    const finishStream = (outcome: RequestRecord['outcome']): Usage => {
      release();
      const upstreamUsage = writer.lastUsage;
      const usage = upstreamUsage
        ? normalizeUsage(upstreamUsage)
        : estimatedUsage(promptEstimate(), writer.assembler.generatedCharacters());
      record.usageSource = upstreamUsage ? 'upstream' : 'estimated';
      record.usage = usage;
      // Success is charged in full; a broken or abandoned stream for the prompt and output so far.
      settleCost(target.model, usage);
      record.upstreamId = writer.upstreamId;
      record.outcome = outcome;
      const completion = writer.completion(usage);
      record.responseBody = completion;
      record.finishReason = completion.choices[0]?.finish_reason;
      return usage;
    };

    async function* frames(): AsyncGenerator<string, void, undefined> {
      let batch: StreamPart[] | undefined = first;
      try {
        while (batch) {
          let out = '';
          for (const part of batch) {
            if (part.type === 'error') {
              finishStream('stream_error');
              record.errorType = part.error.type;
              record.errorCode = part.error.wireCode;
              yield out + writer.error(part.error);
              return;
            }
            out += writer.write(part);
          }
          if (out.length > 0) {
            record.ttftMs ??= Math.round(clock.now() - context.receivedAtMs);
            yield out;
          }
          const next = await rest.next();
          batch = next.done ? undefined : next.value;
        }
        const usage = finishStream('success');
        yield writer.end(usage);
      } catch (error) {
        if (error instanceof UpstreamAbortedError || context.signal.aborted) {
          finishStream('client_disconnected');
          return;
        }
        throw error;
      } finally {
        if (record.outcome === undefined) {
          // The consumer stopped early (client gone): close the upstream body too.
          finishStream('client_disconnected');
          await rest.return?.();
        }
      }
    }
    return {
      kind: 'stream',
      headers,
      frames: frames(),
    };
  }
}
