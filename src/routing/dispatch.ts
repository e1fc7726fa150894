import type { ChatCompletionRequest } from '../api/wire/chat.js';
import type { TimeoutsConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Provider, ProviderCompletion, StreamMapper, UpstreamTarget } from '../providers/provider.js';
import { SseDecoder } from '../stream/sse-decoder.js';
import type { StreamPart } from '../stream/stream-part.js';
import type { Attempt } from '../telemetry/request-event.js';
import type { AbortSignalLike } from '../upstream/abort-source.js';
import {
  type SendOptions,
  toTransportError,
  UpstreamAbortedError,
  type UpstreamBody,
  type UpstreamClient,
} from '../upstream/upstream-client.js';

export interface DispatchContext {
  request: ChatCompletionRequest;
  candidates: UpstreamTarget[];
  providerFor(target: UpstreamTarget): Provider;
  upstream: UpstreamClient;
  timeoutsFor(target: UpstreamTarget): TimeoutsConfig;
  /** Client disconnect and the total deadline, combined. */
  signal: AbortSignalLike;
  maxResponseBytes: number;
  monotonic(): number;
}

export type DispatchResult =
  | { kind: 'completion'; target: UpstreamTarget; completion: ProviderCompletion; attempts: Attempt[] }
  | {
      kind: 'stream';
      target: UpstreamTarget;
      attempts: Attempt[];
      /** Parts of the first upstream event(s); the status line may be written now. */
      first: StreamPart[];
      rest: AsyncIterator<StreamPart[]>;
    };

/** All candidates failed; `error` is the last attempt's (SPEC §5.4). */
export class DispatchError extends Error {
  override name = 'DispatchError';
  constructor(
    readonly error: GatewayError,
    readonly attempts: Attempt[],
  ) {
    super(error.message);
  }
}

/** An upstream error body is read up to this much; past it, the status alone is the error. */
const maxErrorBodyBytes = 64 * 1024;

class FirstEventTimeout extends Error {
  override name = 'FirstEventTimeout';
}

function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/**
 * Reads an upstream SSE body as batches of stream parts. Transport failures after the first event
 * become an in-band error part (SPEC §9.5): an idle timeout is `upstream_timeout`, anything else
 * that breaks the stream is `upstream_error`. A client abort ends the iteration by throwing.
 */
async function* readStreamParts(
  body: UpstreamBody,
  mapper: StreamMapper,
  options: SendOptions,
  maxEventBytes: number,
): AsyncGenerator<StreamPart[], void, undefined> {
  const decoder = new SseDecoder();
  try {
    for await (const chunk of body) {
      const events = decoder.push(chunk as Buffer);
      if (
        decoder.pendingLength > maxEventBytes ||
        events.some((event) => event.data.length > maxEventBytes)
      ) {
        body.on('error', () => {});
        body.destroy();
        yield [
          {
            type: 'error',
            error: new GatewayError('upstream_invalid_response', { provider: options.providerName }),
          },
        ];
        return;
      }
      if (events.length === 0) continue;
      const parts: StreamPart[] = [];
      for (const event of events) {
        // OpenAI's end-of-stream sentinel is framing, not an event; providers never see it.
        if (event.data === '[DONE]') continue;
        for (const part of mapper.map(event)) parts.push(part);
      }
      yield parts;
    }
  } catch (error) {
    if (error instanceof FirstEventTimeout) throw error;
    const mapped = toTransportError(error, options);
    if (mapped instanceof UpstreamAbortedError) throw mapped;
    const streamError =
      mapped.code === 'upstream_timeout'
        ? mapped
        : new GatewayError('upstream_error', {
            provider: options.providerName,
            upstreamMessage: 'the stream broke off',
          });
    yield [{ type: 'error', error: streamError }];
    return;
  }
  const parts: StreamPart[] = [];
  for (const event of decoder.end()) {
    if (event.data === '[DONE]') continue;
    for (const part of mapper.map(event)) parts.push(part);
  }
  for (const part of mapper.end()) parts.push(part);
  if (parts.length > 0) yield parts;
}

async function attemptStream(
  context: DispatchContext,
  target: UpstreamTarget,
  provider: Provider,
  options: SendOptions,
  startedAt: number,
): Promise<{ first: StreamPart[]; rest: AsyncIterator<StreamPart[]> }> {
  const response = await context.upstream.send(provider.buildRequest(context.request, target), options);
  if (response.status >= 400) throw await failureFrom(context, provider, response, options);
  if (!headerValue(response.headers['content-type']).includes('text/event-stream')) {
    // undici emits an AbortError on a body destroyed before its end; with no listener it is uncaught.
    response.body.on('error', () => {});
    response.body.destroy();
    throw new GatewayError(
      'upstream_invalid_response',
      { provider: options.providerName },
      { shouldFallBack: true },
    );
  }
  const iterator = readStreamParts(
    response.body,
    provider.createStreamMapper({ request: context.request, target }),
    options,
    context.maxResponseBytes,
  );
  const remainingMs = Math.max(1, options.timeouts.firstByteMs - (context.monotonic() - startedAt));
  const timer = setTimeout(() => response.body.destroy(new FirstEventTimeout()), remainingMs);
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        throw new GatewayError(
          'upstream_invalid_response',
          { provider: options.providerName },
          { shouldFallBack: true },
        );
      }
      if (next.value.length === 0) continue;
      const error = next.value[0]?.type === 'error' ? next.value[0].error : undefined;
      if (error) {
        await iterator.return?.();
        // A stream whose first event is an error may fall back like an HTTP error would.
        throw error.asFallback();
      }
      return { first: next.value, rest: iterator };
    }
  } catch (error) {
    if (error instanceof FirstEventTimeout) {
      throw new GatewayError(
        'upstream_timeout',
        { provider: options.providerName, timeoutMs: options.timeouts.firstByteMs },
        { shouldFallBack: true },
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function failureFrom(
  context: DispatchContext,
  provider: Provider,
  response: Awaited<ReturnType<UpstreamClient['send']>>,
  options: SendOptions,
): Promise<GatewayError> {
  let text = '';
  try {
    text = (await context.upstream.readBody(response.body, maxErrorBodyBytes, options)).toString('utf8');
  } catch (error) {
    if (error instanceof UpstreamAbortedError) throw error;
  }
  return provider.parseError({
    status: response.status,
    headers: response.headers,
    body: text,
    providerName: options.providerName,
  });
}

async function attemptJson(
  context: DispatchContext,
  target: UpstreamTarget,
  provider: Provider,
  options: SendOptions,
): Promise<ProviderCompletion> {
  const response = await context.upstream.sendBuffered(
    provider.buildRequest(context.request, target),
    options,
    {
      maxBytes: context.maxResponseBytes,
      maxErrorBytes: maxErrorBodyBytes,
    },
  );
  if (response.status >= 400) {
    throw provider.parseError({
      status: response.status,
      headers: response.headers,
      body: response.body.toString('utf8'),
      providerName: options.providerName,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    throw new GatewayError(
      'upstream_invalid_response',
      { provider: options.providerName },
      { shouldFallBack: true },
    );
  }
  return provider.parseResponse(body, { request: context.request, target });
}

/**
 * Tries the candidates in order, once each (SPEC §5.4). A candidate is abandoned only for failures
 * before the gateway writes its status line whose error says it may fall back; streams count as
 * started once their first upstream event arrived.
 */
export async function dispatchChat(context: DispatchContext): Promise<DispatchResult> {
  const attempts: Attempt[] = [];
  let lastError: GatewayError | undefined;
  for (const target of context.candidates) {
    const startedAt = context.monotonic();
    const provider = context.providerFor(target);
    const options: SendOptions = {
      providerName: target.provider.name,
      timeouts: context.timeoutsFor(target),
      signal: context.signal,
    };
    try {
      if (target.provider.apiKey === undefined && !target.provider.isKeyless) {
        throw new GatewayError(
          'provider_key_missing',
          { provider: target.provider.name },
          { shouldFallBack: true },
        );
      }
      if (context.request.stream) {
        const { first, rest } = await attemptStream(context, target, provider, options, startedAt);
        attempts.push(attemptOf(target, 200, null, context.monotonic() - startedAt));
        return { kind: 'stream', target, attempts, first, rest };
      }
      const completion = await attemptJson(context, target, provider, options);
      attempts.push(attemptOf(target, 200, null, context.monotonic() - startedAt));
      return { kind: 'completion', target, completion, attempts };
    } catch (error) {
      if (error instanceof UpstreamAbortedError) throw error;
      if (!(error instanceof GatewayError)) throw error;
      attempts.push(attemptOf(target, error.status, error.wireCode, context.monotonic() - startedAt));
      lastError = error;
      if (!error.shouldFallBack) break;
    }
  }
  throw new DispatchError(lastError ?? new GatewayError('internal_error'), attempts);
}

function attemptOf(
  target: UpstreamTarget,
  status: number,
  errorCode: string | null,
  latencyMs: number,
): Attempt {
  return {
    model: target.model.id,
    provider: target.provider.name,
    status,
    error_code: errorCode,
    latency_ms: Math.round(latencyMs),
  };
}
