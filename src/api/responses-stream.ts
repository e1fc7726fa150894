import { GatewayError } from '../errors/gateway-error.js';
import type { ResponseEventSink, ResponseEventWriter } from '../stream/response-event-writer.js';
import { sseNamedEvent } from '../stream/sse-writer.js';
import { UpstreamAbortedError } from '../upstream/upstream-client.js';
import type { ChatOutcome } from './chat-completions.js';
import type { ResponsesContext } from './responses.js';
import { type StoredResponse, toResponseUsage, toStoredResponse } from './responses-shape.js';
import type { ResponseObject } from './wire/responses.js';

export interface ForegroundStream {
  outcome: Extract<ChatOutcome, { kind: 'stream' }>;
  newWriter(sink: ResponseEventSink): ResponseEventWriter;
  context: ResponsesContext;
  /** Stores the response as it ended (a no-op with `store: false`). */
  persist(stored: StoredResponse): Promise<void>;
  now(): number;
}

/**
 * A foreground stream (SPEC §12.4): the events of each upstream batch in one write, the response
 * stored as it ends. A failure after the first event is `error` + `response.failed`; the drain
 * deadline ends it the same way with `shutting_down`; a client that goes away leaves it `cancelled`.
 */
export async function* foregroundFrames(stream: ForegroundStream): AsyncGenerator<string, void, undefined> {
  const { outcome, context } = stream;
  const { record } = context;
  let pending = '';
  const writer = stream.newWriter((event) => {
    pending += sseNamedEvent(event.type, JSON.stringify(event));
  });
  const take = () => {
    const out = pending;
    pending = '';
    return out;
  };
  const end = (final: ResponseObject) => {
    record.responseBody = final;
    record.finishReason = writer.finishReason;
    return stream.persist(toStoredResponse(writer, final));
  };
  const failWith = (error: GatewayError, outcomeName: 'stream_error') => {
    const usage = outcome.finish(writer.normalizer, outcomeName);
    record.errorType = error.type;
    record.errorCode = error.wireCode;
    return end(writer.fail({ code: error.wireCode, message: error.message }, toResponseUsage(usage)));
  };
  writer.created();
  writer.inProgress();
  let batch: typeof outcome.first | undefined = outcome.first;
  try {
    while (batch) {
      for (const part of batch) {
        const failed = writer.write(part);
        if (!failed) continue;
        await failWith(failed.error, 'stream_error');
        yield take();
        return;
      }
      const text = take();
      if (text) {
        record.ttftMs ??= Math.round(stream.now() - context.receivedAtMs);
        yield text;
      }
      const next = await outcome.rest.next();
      batch = next.done ? undefined : next.value;
    }
    await end(writer.complete(toResponseUsage(outcome.finish(writer.normalizer, 'success'))));
    yield take();
  } catch (error) {
    if (!(error instanceof UpstreamAbortedError || context.signal.aborted || context.drain?.aborted))
      throw error;
    if (context.drain?.aborted && !context.signal.aborted) {
      await failWith(new GatewayError('shutting_down'), 'stream_error');
      yield take();
      return;
    }
    const usage = outcome.finish(writer.normalizer, 'client_disconnected');
    void end(writer.cancel(toResponseUsage(usage)));
  } finally {
    if (record.outcome === undefined) {
      // The consumer stopped early (client gone): close the upstream body too.
      const usage = outcome.finish(writer.normalizer, 'client_disconnected');
      void end(writer.cancel(toResponseUsage(usage)));
      await outcome.rest.return?.();
    }
  }
}
