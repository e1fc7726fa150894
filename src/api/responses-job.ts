import type { Principal } from '../auth/principal.js';
import type { RateLimitSubject } from '../auth/rate-limit-subject.js';
import type { Reservation } from '../billing/billing-gate.js';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { ResponseRecord, ResponseRepository } from '../store/repositories.js';
import { ResponseEventWriter } from '../stream/response-event-writer.js';
import { sseNamedEvent } from '../stream/sse-writer.js';
import { newRequestRecord, type RequestRecord } from '../telemetry/request-event.js';
import { UpstreamAbortedError } from '../upstream/upstream-client.js';
import type { ChatCompletionsHandler, ChatOutcome } from './chat-completions.js';
import { type JobFeed, JobStop } from './responses-pool.js';
import {
  type StoredResponse,
  toResponseUsage,
  toStoredResponse,
  writeCompletion,
} from './responses-shape.js';
import type { ChatCompletionRequest, ChatMessage } from './wire/chat.js';
import type { CreateResponseRequest, ResponseObject } from './wire/responses.js';

/** What a background job needs to run on any instance, persisted with it (`ResponseRecord.request`). */
export interface BackgroundJob {
  /** The prepared chat request (container prompt included) and its candidates as catalog ids. */
  chat: ChatCompletionRequest;
  candidates: string[];
  container?: string;
  /** Held at creation, settled by the job's event (SPEC §12.3). */
  reservation?: Reservation;
  body: CreateResponseRequest;
  principal: Principal;
  requestId: string;
  userAgent?: string;
  clientIp: string;
  rateLimitSubject?: RateLimitSubject;
  trace?: Record<string, unknown>;
}

/** `ResponseRecord.request` as this API writes it. */
export interface StoredRequest {
  /** The chain's input messages, this turn's included; `instructions` are not (never inherited). */
  conversation: ChatMessage[];
  job?: BackgroundJob;
}

/** A job's request event, in the shape of the http layer's finished request (telemetry takes it). */
export interface FinishedJob {
  requestId: string;
  principal: Principal;
  record: RequestRecord;
  status: number;
  latencyMs: number;
  receivedAtMs: number;
  userAgent: string | undefined;
  clientIp: string;
  rateLimitSubject: RateLimitSubject | undefined;
}

export interface JobRunnerDeps {
  chat: ChatCompletionsHandler;
  store: Pick<ResponseRepository, 'update'>;
  clock: Clock;
  newItemId(prefix: 'msg' | 'rs' | 'fc'): string;
  newToolCallId(): string;
  /** SPEC §12.3: 1 000 ms. */
  checkpointIntervalMs: number;
  onJobFinished(finished: FinishedJob): void;
  onError(error: unknown): void;
}

const shuttingDown = new GatewayError('shutting_down');

function jobRecordOf(record: ResponseRecord, job: BackgroundJob): RequestRecord {
  const jobRecord = newRequestRecord('responses');
  jobRecord.eventId = record.id;
  jobRecord.modelRequested = job.body.model;
  jobRecord.stream = job.body.stream === true;
  jobRecord.tags = job.chat.tags;
  jobRecord.metadata = job.chat.metadata;
  jobRecord.trace = job.trace;
  jobRecord.store = true;
  jobRecord.container = job.container;
  jobRecord.requestBody = job.body;
  jobRecord.costMicros = 0;
  if (job.reservation) jobRecord.reservation = job.reservation;
  return jobRecord;
}

/**
 * Runs one claimed background job (SPEC §12.3): the chat pipeline from dispatch on (validation,
 * resolution and billing ran at creation), every event published to the job's feed for tails, the
 * output checkpointed every second, and the end persisted with a compare-and-set on the status, so a
 * cancel from any instance wins. Cancel keeps the partial output; shutdown fails with
 * `shutting_down`. The job's request event carries the usage and settles the reservation.
 */
export async function runBackgroundJob(
  deps: JobRunnerDeps,
  record: ResponseRecord,
  feed: JobFeed,
): Promise<void> {
  const job = (record.request as StoredRequest | null)?.job;
  const startedAtMs = deps.clock.now();
  const startedAt = deps.clock.monotonic();
  if (!job) {
    await deps.store.update(undefined, record.id, {
      status: 'failed',
      error: { code: 'internal_error', message: 'Internal server error.' },
      now: startedAtMs,
    });
    return;
  }
  const jobRecord = jobRecordOf(record, job);
  const response = structuredClone(record.response) as StoredResponse;
  delete response.chat_reasoning_details;
  response.status = 'queued';
  const writer = new ResponseEventWriter(response, {
    sink: (event) => feed.publish(event.sequence_number, sseNamedEvent(event.type, JSON.stringify(event))),
    newItemId: deps.newItemId,
    newToolCallId: deps.newToolCallId,
    nowSeconds: () => Math.floor(deps.clock.now() / 1000),
  });
  feed.snapshot = () => writer.snapshot();
  writer.created();
  writer.inProgress();

  let checkpointing: Promise<void> | undefined;
  let checkpointedSequence = writer.lastSequence;
  const checkpoint = () => {
    if (checkpointing || feed.abort.signal.aborted) return;
    const hasChanged = writer.lastSequence !== checkpointedSequence;
    checkpointedSequence = writer.lastSequence;
    // An unchanged job still touches its row: the compare-and-set sees a cancel from any instance.
    checkpointing = deps.store
      .update(undefined, record.id, {
        ...(hasChanged ? { response: toStoredResponse(writer, writer.snapshot()) } : {}),
        now: deps.clock.now(),
        ifStatusIn: ['in_progress'],
      })
      .then((updated) => {
        if (!updated) feed.abort.abort(new JobStop('cancelled'));
      })
      .catch(deps.onError)
      .finally(() => {
        checkpointing = undefined;
      });
  };
  const timer = setInterval(checkpoint, deps.checkpointIntervalMs);
  timer.unref();

  let status = 200;
  let final: ResponseObject;
  try {
    const prepared = deps.chat.restore(job.chat, job.candidates, job.container);
    // A cancel may have landed between the claim and this start: then no upstream call is made.
    const isStillWanted = await deps.store.update(undefined, record.id, {
      response: toStoredResponse(writer, writer.snapshot()),
      now: deps.clock.now(),
      ifStatusIn: ['in_progress'],
    });
    if (!isStillWanted) feed.abort.abort(new JobStop('cancelled'));
    feed.abort.signal.throwIfAborted();
    const outcome = await deps.chat.dispatch(prepared, { signal: feed.abort.signal, record: jobRecord });
    response.model = outcome.target.model.id;
    response.provider = outcome.target.provider.name;
    if (outcome.kind === 'completion') {
      writeCompletion(writer, outcome.completion);
      final = writer.complete(toResponseUsage(outcome.usage));
    } else {
      final = await consume(outcome, writer, jobRecord, feed.abort.signal, () => {
        jobRecord.ttftMs ??= Math.round(deps.clock.now() - startedAtMs);
      });
    }
  } catch (error) {
    const isStop = error instanceof UpstreamAbortedError || error instanceof JobStop;
    const stop = isStop && feed.abort.signal.aborted ? feed.abort.signal.reason : undefined;
    if (stop instanceof JobStop && stop.reason === 'cancelled') {
      jobRecord.outcome = 'client_disconnected';
      final = writer.cancel();
    } else {
      const failure =
        error instanceof GatewayError ? error : isStop ? shuttingDown : new GatewayError('internal_error');
      if (!(error instanceof GatewayError || isStop)) deps.onError(error);
      status = failure.status;
      jobRecord.outcome = 'error';
      jobRecord.errorType = failure.type;
      jobRecord.errorCode = failure.wireCode;
      final = writer.fail({ code: failure.wireCode, message: failure.message });
    }
  } finally {
    clearInterval(timer);
    await checkpointing;
  }
  jobRecord.responseBody = final;
  jobRecord.finishReason ??= writer.finishReason;
  await persist(deps, record.id, toStoredResponse(writer, final));
  deps.onJobFinished({
    requestId: job.requestId,
    principal: job.principal,
    record: jobRecord,
    status,
    latencyMs: deps.clock.monotonic() - startedAt,
    receivedAtMs: startedAtMs,
    userAgent: job.userAgent,
    clientIp: job.clientIp,
    rateLimitSubject: job.rateLimitSubject,
  });
}

/** Reads the upstream stream into the writer until it ends, breaks, or the job is stopped. */
async function consume(
  outcome: Extract<ChatOutcome, { kind: 'stream' }>,
  writer: ResponseEventWriter,
  record: RequestRecord,
  signal: AbortSignal,
  onOutput: () => void,
): Promise<ResponseObject> {
  let batch: typeof outcome.first | undefined = outcome.first;
  try {
    while (batch) {
      for (const part of batch) {
        const failed = writer.write(part);
        if (failed) {
          const usage = outcome.finish(writer.normalizer, 'stream_error');
          record.errorType = failed.error.type;
          record.errorCode = failed.error.wireCode;
          return writer.fail(
            { code: failed.error.wireCode, message: failed.error.message },
            toResponseUsage(usage),
          );
        }
      }
      onOutput();
      const next = await outcome.rest.next();
      batch = next.done ? undefined : next.value;
    }
    return writer.complete(toResponseUsage(outcome.finish(writer.normalizer, 'success')));
  } catch (error) {
    if (!(error instanceof UpstreamAbortedError || signal.aborted)) throw error;
    const reason = signal.reason;
    if (reason instanceof JobStop && reason.reason === 'cancelled') {
      const usage = outcome.finish(writer.normalizer, 'client_disconnected');
      return writer.cancel(toResponseUsage(usage));
    }
    const usage = outcome.finish(writer.normalizer, 'stream_error');
    record.errorType = shuttingDown.type;
    record.errorCode = shuttingDown.wireCode;
    return writer.fail(
      { code: shuttingDown.wireCode, message: shuttingDown.message },
      toResponseUsage(usage),
    );
  }
}

/** The end of a job, unless a cancel got there first; then the partial output is kept, cancelled. */
async function persist(deps: JobRunnerDeps, id: string, stored: StoredResponse): Promise<void> {
  const now = deps.clock.now();
  try {
    const updated = await deps.store.update(undefined, id, {
      status: stored.status,
      response: stored,
      error: stored.error,
      now,
      ifStatusIn: ['in_progress'],
    });
    if (updated) return;
    await deps.store.update(undefined, id, {
      response: { ...stored, status: 'cancelled' },
      error: null,
      now,
      ifStatusIn: ['cancelled'],
    });
  } catch (error) {
    deps.onError(error);
  }
}
