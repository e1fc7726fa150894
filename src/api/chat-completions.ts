import type { Principal } from '../auth/principal.js';
import { estimatedUsage, estimatePromptTokens, normalizeUsage } from '../billing/usage-estimate.js';
import type { Clock } from '../clock.js';
import type { Config, ProviderType, TimeoutsConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Ids } from '../ids.js';
import type { Provider, UpstreamTarget } from '../providers/provider.js';
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
}

export interface RequestContext {
  requestId: string;
  principal: Principal;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  receivedAtMs: number;
  record: RequestRecord;
}

export type ChatCompletionsResult =
  | { kind: 'json'; status: 200; headers: Record<string, string>; body: string }
  | { kind: 'stream'; headers: Record<string, string>; frames: AsyncIterable<string> };

const validateChatCompletionRequest =
  compileBodyValidator<ChatCompletionRequest>(chatCompletionRequestSchema);

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

  /** Steps 7–10 of SPEC §9.3: parse result in, candidates out, every candidate checked. */
  resolveCandidates(request: ChatCompletionRequest): UpstreamTarget[] {
    const primary = this.deps.catalog.resolve(request.model, 'model');
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
    return targets;
  }

  async handle(body: unknown, context: RequestContext): Promise<ChatCompletionsResult> {
    const request = validateChatCompletionRequest(body);
    checkChatCompletionRequest(request);
    const record = context.record;
    record.modelRequested = request.model;
    record.stream = request.stream === true;
    record.tags = request.tags;
    record.metadata = request.metadata;
    record.trace = request.trace as Record<string, unknown> | undefined;
    record.store = request.store !== false;
    record.requestBody = request;
    const candidates = this.resolveCandidates(request);

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
      record.responseBody = completion;
      record.outcome = 'success';
      return { kind: 'json', status: 200, headers, body: JSON.stringify(completion) };
    }

    const writer = new ChatChunkWriter(
      { id, created, model: target.model.id, provider: target.provider.name },
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
