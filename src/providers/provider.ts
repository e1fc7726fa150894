import type { AssistantMessage, ChatCompletionRequest, FinishReason, Usage } from '../api/wire/chat.js';
import type { CatalogModel } from '../config/catalog-model.js';
import type { ProviderConfig, ProviderType } from '../config/config.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { SseEvent } from '../stream/sse-decoder.js';
import type { StreamPart } from '../stream/stream-part.js';
import type { UpstreamRequest } from '../upstream/upstream-request.js';

export type { UpstreamRequest } from '../upstream/upstream-request.js';

/** Where one attempt goes: the configured provider (URL, credential) and the catalog entry. */
export interface UpstreamTarget {
  provider: ProviderConfig;
  model: CatalogModel;
}

export interface TranslationContext {
  request: ChatCompletionRequest;
  target: UpstreamTarget;
}

/** A non-streamed answer, normalized; the api layer adds the gateway's id, model and provider. */
export interface ProviderCompletion {
  upstreamId?: string;
  systemFingerprint?: string;
  message: AssistantMessage;
  finishReason: FinishReason;
  logprobs: unknown;
  usage?: Usage;
}

/** An upstream answer with a non-2xx status. `body` is bounded text, possibly not JSON. */
export interface UpstreamFailure {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  providerName: string;
}

/** Turns a vendor's SSE events into stream parts. Stateful: one per attempt. */
export interface StreamMapper {
  map(event: SseEvent): StreamPart[];
  /** Called at end of input; may emit parts held back (a vendor's trailing usage, say). */
  end(): StreamPart[];
}

/**
 * What a provider claims to do; the conformance suite runs every scenario a capability claims, and an
 * unsupported feature is an explicit `false` with its reason.
 */
export interface ProviderCapabilities {
  tools: true | { supported: false; reason: string };
  reasoning: true | { supported: false; reason: string };
  images: true | { supported: false; reason: string };
  discovery: boolean;
}

/**
 * The provider contract. Providers only translate: no I/O, no clock, no logger, no environment.
 * `checkRequest` runs for every fallback candidate before billing (SPEC §4, §9.3 step 10).
 */
export interface Provider {
  readonly type: ProviderType;
  readonly capabilities: ProviderCapabilities;
  checkRequest(request: ChatCompletionRequest, target: UpstreamTarget): void;
  buildRequest(request: ChatCompletionRequest, target: UpstreamTarget): UpstreamRequest;
  parseResponse(body: unknown, context: TranslationContext): ProviderCompletion;
  createStreamMapper(context: TranslationContext): StreamMapper;
  parseError(failure: UpstreamFailure): GatewayError;
  /** Discovery (`discover: true`): the request listing the upstream's models, and its parser. */
  buildListModelsRequest?(provider: ProviderConfig): UpstreamRequest;
  parseModelList?(body: unknown): string[];
}
