import type { ChatChunkWriter } from '../stream/chat-chunk-writer.js';
import type { StreamPart } from '../stream/stream-part.js';
import type { Outcome, RequestRecord } from '../telemetry/request-event.js';
import type { AbortSignalLike } from '../upstream/abort-source.js';
import { UpstreamAbortedError } from '../upstream/upstream-client.js';
import type { ChatOutcome } from './chat-completions.js';
import type { Usage } from './wire/chat.js';

export interface ChatStream {
  outcome: Extract<ChatOutcome, { kind: 'stream' }>;
  writer: ChatChunkWriter;
  record: RequestRecord;
  /** The client's disconnect. */
  signal: AbortSignalLike;
  receivedAtMs: number;
  now(): number;
}

/**
 * The chunk frames of a chat stream (SPEC §3.4–3.5, §9.5): each upstream batch in one write, an
 * in-band error ending it, `[DONE]` after a complete one. The record is settled on every path.
 */
export async function* chatFrames(stream: ChatStream): AsyncGenerator<string, void, undefined> {
  const { outcome, writer, record } = stream;
  const { rest } = outcome;
  const finishStream = (result: Outcome): Usage => {
    const usage = outcome.finish(writer.normalizer, result);
    const completion = writer.completion(usage);
    record.responseBody = completion;
    record.finishReason = completion.choices[0]?.finish_reason;
    return usage;
  };
  let batch: StreamPart[] | undefined = outcome.first;
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
        record.ttftMs ??= Math.round(stream.now() - stream.receivedAtMs);
        yield out;
      }
      const next = await rest.next();
      batch = next.done ? undefined : next.value;
    }
    const usage = finishStream('success');
    yield writer.end(usage);
  } catch (error) {
    if (error instanceof UpstreamAbortedError || stream.signal.aborted) {
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
