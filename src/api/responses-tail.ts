import { GatewayError } from '../errors/gateway-error.js';
import type { ResponseRepository } from '../store/repositories.js';
import { ResponseEventWriter } from '../stream/response-event-writer.js';
import { replayResponse } from '../stream/response-replay.js';
import { sseNamedEvent } from '../stream/sse-writer.js';
import type { BackgroundPool } from './responses-pool.js';
import { type StoredResponse, toWireResponse } from './responses-shape.js';
import type { ResponseObject, ResponseStatus, ResponseStreamEvent } from './wire/responses.js';

const terminal: ReadonlySet<ResponseStatus> = new Set(['completed', 'failed', 'cancelled', 'incomplete']);

export function isTerminal(status: ResponseStatus): boolean {
  return terminal.has(status);
}

function frameOf(event: ResponseStreamEvent): string {
  return sseNamedEvent(event.type, JSON.stringify(event));
}

/** The canonical sequence of a finished response, from `sequence_number` > `startingAfter`. */
export function replayFrames(stored: StoredResponse, startingAfter: number): string {
  let out = '';
  replayResponse(toWireResponse(stored), (event) => {
    if (event.sequence_number > startingAfter) out += frameOf(event);
  });
  return out;
}

/**
 * The events every background job starts with (`response.created`, `response.queued`, and once
 * claimed `response.in_progress`), synthesized from its stored state for a reader with no live feed.
 */
function prefixFrames(stored: StoredResponse, startingAfter: number): { text: string; last: number } {
  const response: ResponseObject = {
    ...toWireResponse(stored),
    status: 'queued',
    output: [],
    output_text: '',
  };
  let text = '';
  let last = startingAfter;
  const writer = new ResponseEventWriter(response, {
    sink: (event) => {
      if (event.sequence_number <= startingAfter) return;
      text += frameOf(event);
      last = event.sequence_number;
    },
    newItemId: () => '',
    newToolCallId: () => '',
    nowSeconds: () => 0,
  });
  writer.created();
  if (stored.status === 'in_progress') writer.inProgress();
  return { text, last };
}

/** Shutdown of a tail before its job ended: `error` then `response.failed` (SPEC §12.4, §13.5). */
function stoppedFrames(response: ResponseObject, last: number): string {
  const error = new GatewayError('shutting_down');
  const failed: ResponseObject = {
    ...response,
    status: 'failed',
    error: { code: error.wireCode, message: error.message },
  };
  return (
    frameOf({
      type: 'error',
      sequence_number: last + 1,
      code: error.wireCode,
      message: error.message,
      param: null,
    }) + frameOf({ type: 'response.failed', sequence_number: last + 2, response: failed })
  );
}

export interface TailDeps {
  pool: BackgroundPool;
  store: Pick<ResponseRepository, 'get'>;
  /** How often a reader with no live feed (a job on another instance) checks the stored state. */
  pollIntervalMs: number;
}

/**
 * Follows a stored response as SPEC §12.4 describes: a job running here is read from its live feed
 * (every event, exact sequence numbers, from `startingAfter`); a queued job, or one running on another
 * instance, gets the synthesized prefix, then the store is polled until the job starts here or ends,
 * and a finished one is replayed. The drain deadline ends the tail in-band; a client that goes away
 * only stops reading (the job goes on).
 */
export async function* tailFrames(
  deps: TailDeps,
  orgId: string,
  id: string,
  startingAfter: number,
  drain: AbortSignal | undefined,
): AsyncGenerator<string, void, undefined> {
  let last = startingAfter;
  for (;;) {
    const feed = deps.pool.feed(id);
    if (feed) {
      const interrupt = () => feed.interrupt();
      drain?.addEventListener('abort', interrupt, { once: true });
      try {
        let position = feed.frames.findIndex((frame) => frame.sequence > last);
        if (position === -1) position = feed.frames.length;
        for (;;) {
          let text = '';
          for (; position < feed.frames.length; position++) {
            const frame = feed.frames[position] as { sequence: number; text: string };
            text += frame.text;
            last = frame.sequence;
          }
          if (text) yield text;
          // The job published its terminal event before its feed finished.
          if (feed.isFinished) return;
          if (drain?.aborted) {
            yield stoppedFrames(feed.snapshot(), last);
            return;
          }
          await feed.changed();
        }
      } finally {
        drain?.removeEventListener('abort', interrupt);
      }
    }
    const record = await deps.store.get(orgId, id);
    if (!record) return;
    const stored: StoredResponse = { ...(record.response as StoredResponse), status: record.status };
    if (isTerminal(record.status)) {
      const text = replayFrames(stored, last);
      if (text) yield text;
      return;
    }
    if (deps.pool.feed(id)) continue;
    const prefix = prefixFrames(stored, last);
    if (prefix.text) {
      last = prefix.last;
      yield prefix.text;
    }
    if (drain?.aborted) {
      yield stoppedFrames(toWireResponse(stored), last);
      return;
    }
    await deps.pool.waitForStart(id, deps.pollIntervalMs, drain);
  }
}
