import type { RateLimitSubject } from '../auth/rate-limit-subject.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { GatewayError, invalidValue } from '../errors/gateway-error.js';
import type { Ids } from '../ids.js';
import type { ResponseRecord, ResponseRepository } from '../store/repositories.js';
import { type ResponseEventSink, ResponseEventWriter } from '../stream/response-event-writer.js';
import type { Logger } from '../telemetry/logger.js';
import { checkChatCompletionRequest } from './chat-completion-rules.js';
import type { ChatCompletionsHandler, PreparedChat, RequestContext } from './chat-completions.js';
import { compileBodyValidator } from './request-validation.js';
import {
  type BackgroundJob,
  type FinishedJob,
  runBackgroundJob,
  type StoredRequest,
} from './responses-job.js';
import { BackgroundPool } from './responses-pool.js';
import { checkCreateResponse, toChatMessages, toChatRequest } from './responses-request.js';
import { createResponseSchema } from './responses-schema.js';
import {
  assistantMessageOf,
  hexId,
  newResponse,
  type StoredResponse,
  toResponseUsage,
  toStoredResponse,
  toWireResponse,
  writeCompletion,
} from './responses-shape.js';
import { foregroundFrames } from './responses-stream.js';
import { isTerminal, replayFrames, type TailDeps, tailFrames } from './responses-tail.js';
import type { ChatMessage } from './wire/chat.js';
import type { CreateResponseRequest, ResponseObject } from './wire/responses.js';

export interface ResponsesDeps {
  chat: ChatCompletionsHandler;
  store: ResponseRepository;
  config: Pick<Config, 'background' | 'shutdown'>;
  clock: Clock;
  ids: Ids;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** A background job ended: its request event (the same path as a finished request's). */
  onJobFinished(finished: FinishedJob): void;
  /** Defaults: a random id, SPEC §12.3's 1 000 ms checkpoints, claims polled every 1 000 ms. */
  workerId?: string;
  checkpointIntervalMs?: number;
  pollIntervalMs?: number;
}

export interface ResponsesContext extends RequestContext {
  userAgent: string | undefined;
  clientIp: string;
  rateLimitSubject: RateLimitSubject | undefined;
  /** Aborts at the drain deadline (SPEC §13.5): open streams end in-band with `shutting_down`. */
  drain?: AbortSignal;
}

export type ResponsesResult =
  | { kind: 'json'; status: 200; headers: Record<string, string>; body: string }
  | { kind: 'stream'; headers: Record<string, string>; frames: AsyncIterable<string> };

const validateCreateResponse = compileBodyValidator<CreateResponseRequest>(createResponseSchema);

function json(body: unknown, headers: Record<string, string> = {}): ResponsesResult {
  return { kind: 'json', status: 200, headers, body: JSON.stringify(body) };
}

async function* once(text: string): AsyncGenerator<string, void, undefined> {
  if (text) yield text;
}

/** The wire object of a stored record; the record's status is authoritative (a cancel sets it first). */
function wireOf(record: ResponseRecord): ResponseObject {
  return { ...toWireResponse(record.response as StoredResponse), status: record.status };
}

/**
 * The Responses API of SPEC §12 on top of the chat pipeline: requests are mapped to chat requests and
 * go through the same resolution, map-or-reject, billing, fallbacks and telemetry; answers are
 * re-shaped by the Responses event writer. Stored responses are scoped to the organization.
 */
export class ResponsesService {
  readonly pool: BackgroundPool;
  private readonly tail: TailDeps;

  constructor(private readonly deps: ResponsesDeps) {
    const newItemId = (prefix: 'msg' | 'rs' | 'fc') => hexId(prefix, deps.ids.uuid());
    const pollIntervalMs = deps.pollIntervalMs ?? 1000;
    this.pool = new BackgroundPool({
      store: deps.store,
      clock: deps.clock,
      workerId: deps.workerId ?? `wrk_${deps.ids.uuid()}`,
      concurrency: deps.config.background.concurrency,
      pollIntervalMs,
      onError: (error) => deps.logger.error({ err: error }, 'background response job failed'),
      run: (record, feed) =>
        runBackgroundJob(
          {
            chat: deps.chat,
            store: deps.store,
            clock: deps.clock,
            newItemId,
            newToolCallId: () => deps.ids.toolCall(),
            checkpointIntervalMs: deps.checkpointIntervalMs ?? 1000,
            onJobFinished: deps.onJobFinished,
            onError: (error) =>
              deps.logger.warn({ err: error, response_id: record.id }, 'response job store write failed'),
          },
          record,
          feed,
        ),
    });
    this.tail = { pool: this.pool, store: deps.store, pollIntervalMs };
  }

  /** Starts the workers (jobs left queued by an earlier run, or by other instances, are claimed). */
  start(): void {
    this.pool.start();
  }

  /** Shutdown: see {@link BackgroundPool.close}; resolves once running jobs have recorded their end. */
  close(): Promise<void> {
    return this.pool.close(this.deps.config.shutdown.drainTimeoutMs);
  }

  private writer(response: ResponseObject, sink: ResponseEventSink): ResponseEventWriter {
    const ids = this.deps.ids;
    return new ResponseEventWriter(response, {
      sink,
      newItemId: (prefix) => hexId(prefix, ids.uuid()),
      newToolCallId: () => ids.toolCall(),
      nowSeconds: () => Math.floor(this.deps.clock.now() / 1000),
    });
  }

  private async load(orgId: string, id: string, param?: string): Promise<ResponseRecord> {
    let record: ResponseRecord | undefined;
    try {
      record = await this.deps.store.get(orgId, id);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'response store unavailable');
      throw new GatewayError('storage_unavailable');
    }
    if (!record) throw new GatewayError('response_not_found', { id }, { param: param ?? null });
    return record;
  }

  /** SPEC §12.1: the earlier turn's chain, inputs and outputs, oldest first. */
  private async previousTurn(orgId: string, id: string): Promise<ChatMessage[]> {
    const record = await this.load(orgId, id, 'previous_response_id');
    if (record.status !== 'completed' && record.status !== 'incomplete') {
      throw invalidValue('previous_response_id', `response '${id}' is ${record.status}, not completed`);
    }
    const stored = record.request as StoredRequest | null;
    const assistant = assistantMessageOf(record.response as StoredResponse);
    return [...(stored?.conversation ?? []), ...(assistant ? [assistant] : [])];
  }

  /** POST /v1/responses: foreground JSON, foreground stream, or a background job. */
  async create(body: unknown, context: ResponsesContext): Promise<ResponsesResult> {
    const request = await validateCreateResponse(body);
    checkCreateResponse(request);
    const { record, principal } = context;
    const isBackground = request.background === true;
    const isStream = request.stream === true;
    if (isBackground) record.endpoint = 'responses.background';
    const input = toChatMessages(request.input);
    const conversation = request.previous_response_id
      ? [...(await this.previousTurn(principal.orgId, request.previous_response_id)), ...input]
      : input;
    const chatRequest = toChatRequest(request, conversation, isStream || isBackground);
    checkChatCompletionRequest(chatRequest);
    if (isBackground && !this.pool.isAccepting) throw new GatewayError('shutting_down');
    const prepared = await this.deps.chat.prepare(chatRequest, context, 'responses');
    record.requestBody = request;
    record.stream = isStream;
    const first = prepared.candidates[0];
    const id = hexId('resp', this.deps.ids.uuid());
    const response = newResponse(request, {
      id,
      createdAtSeconds: Math.floor(context.receivedAtMs / 1000),
      status: isBackground ? 'queued' : 'in_progress',
      model: first?.model.id ?? request.model,
      provider: first?.provider.name ?? '',
      container: prepared.container,
    });
    if (isBackground) return this.enqueue(request, prepared, response, conversation, context);

    // Streams end in-band at the drain deadline; a JSON answer is left to the connection drain.
    const signal =
      isStream && context.drain ? AbortSignal.any([context.signal, context.drain]) : context.signal;
    const outcome = await this.deps.chat.dispatch(prepared, { signal, record });
    record.eventId = id;
    response.model = outcome.target.model.id;
    response.provider = outcome.target.provider.name;
    const persist = (stored: StoredResponse) =>
      request.store === false
        ? Promise.resolve()
        : this.saveForeground(context, request, conversation, stored);
    if (outcome.kind === 'completion') {
      const writer = this.writer(response, () => {});
      writeCompletion(writer, outcome.completion);
      const final = writer.complete(toResponseUsage(outcome.usage));
      record.responseBody = final;
      await persist(toStoredResponse(writer, final));
      return json(final, outcome.headers);
    }
    const frames = foregroundFrames({
      outcome,
      newWriter: (sink) => this.writer(response, sink),
      context,
      persist,
      now: () => this.deps.clock.now(),
    });
    return { kind: 'stream', headers: outcome.headers, frames };
  }

  private async saveForeground(
    context: ResponsesContext,
    request: CreateResponseRequest,
    conversation: ChatMessage[],
    stored: StoredResponse,
  ): Promise<void> {
    const { principal } = context;
    try {
      await this.deps.store.save({
        id: stored.id,
        orgId: principal.orgId,
        projectId: principal.projectId,
        keyId: principal.keyId,
        status: stored.status,
        isBackground: false,
        model: stored.model,
        previousResponseId: request.previous_response_id ?? null,
        request: { conversation } satisfies StoredRequest,
        response: stored,
        error: stored.error,
        createdAt: context.receivedAtMs,
      });
    } catch (error) {
      // The answer was produced and paid for; it is still returned, only retrieval will miss it.
      this.deps.logger.warn({ err: error, response_id: stored.id }, 'response not stored');
    }
  }

  /** SPEC §12.3: persisted `queued` with everything a worker needs, then answered at once. */
  private async enqueue(
    request: CreateResponseRequest,
    prepared: PreparedChat,
    response: ResponseObject,
    conversation: ChatMessage[],
    context: ResponsesContext,
  ): Promise<ResponsesResult> {
    const { record, principal } = context;
    const job: BackgroundJob = {
      chat: prepared.request,
      candidates: prepared.candidates.map((target) => target.model.id),
      ...(prepared.container === undefined ? {} : { container: prepared.container }),
      ...(record.reservation ? { reservation: record.reservation } : {}),
      body: request,
      principal,
      requestId: context.requestId,
      ...(context.userAgent === undefined ? {} : { userAgent: context.userAgent }),
      clientIp: context.clientIp,
      ...(context.rateLimitSubject ? { rateLimitSubject: context.rateLimitSubject } : {}),
      ...(record.trace ? { trace: record.trace } : {}),
    };
    try {
      if ((await this.deps.store.countQueued()) >= this.deps.config.background.maxQueued) {
        throw new GatewayError('background_unavailable');
      }
      await this.deps.store.save({
        id: response.id,
        orgId: principal.orgId,
        projectId: principal.projectId,
        keyId: principal.keyId,
        status: 'queued',
        isBackground: true,
        model: response.model,
        previousResponseId: request.previous_response_id ?? null,
        request: { conversation, job } satisfies StoredRequest,
        response,
        error: null,
        createdAt: context.receivedAtMs,
      });
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      this.deps.logger.warn({ err: error }, 'background response not persisted');
      throw new GatewayError('background_unavailable');
    }
    // The job's own event settles the reservation when it ends; this request's event must not.
    delete record.reservation;
    record.responseBody = response;
    this.pool.notify();
    if (request.stream !== true) return json(response);
    return {
      kind: 'stream',
      headers: {},
      frames: tailFrames(this.tail, principal.orgId, response.id, -1, context.drain),
    };
  }

  /** GET /v1/responses/{id}, and with `stream=true|1` the replay or live tail (SPEC §12.4). */
  async retrieve(id: string, query: Record<string, string | undefined>, context: ResponsesContext) {
    const record = await this.load(context.principal.orgId, id);
    if (query.stream !== 'true' && query.stream !== '1') return json(wireOf(record));
    let startingAfter = -1;
    if (query.starting_after !== undefined) {
      if (!/^\d{1,15}$/.test(query.starting_after)) {
        throw invalidValue('starting_after', 'must be a non-negative integer');
      }
      startingAfter = Number(query.starting_after);
    }
    if (isTerminal(record.status)) {
      const text = replayFrames(
        { ...(record.response as StoredResponse), status: record.status },
        startingAfter,
      );
      return { kind: 'stream', headers: {}, frames: once(text) } satisfies ResponsesResult;
    }
    const frames = tailFrames(this.tail, context.principal.orgId, id, startingAfter, context.drain);
    return { kind: 'stream', headers: {}, frames } satisfies ResponsesResult;
  }

  /** POST /v1/responses/{id}/cancel (SPEC §12.4). */
  async cancel(id: string, context: ResponsesContext): Promise<ResponsesResult> {
    return json(await this.cancelRecord(id, context));
  }

  private async cancelRecord(id: string, context: ResponsesContext): Promise<ResponseObject> {
    const orgId = context.principal.orgId;
    // A job may be claimed or end between the read and the compare-and-set: look again then.
    for (let attempt = 0; attempt < 5; attempt++) {
      const record = await this.load(orgId, id);
      if (record.status === 'cancelled' && record.isBackground) return wireOf(record);
      if (!record.isBackground || (record.status !== 'queued' && record.status !== 'in_progress')) {
        throw new GatewayError('response_not_cancellable', {}, { param: null });
      }
      const updated = await this.deps.store.update(orgId, id, {
        status: 'cancelled',
        response: { ...(record.response as StoredResponse), status: 'cancelled' },
        now: this.deps.clock.now(),
        ifStatusIn: [record.status],
      });
      if (!updated) continue;
      this.pool.wake(id);
      if (record.status === 'queued') {
        // It never ran: this request's event releases the reservation it held.
        const job = (record.request as StoredRequest | null)?.job;
        if (job?.reservation) context.record.reservation = job.reservation;
        context.record.costMicros = 0;
        return wireOf(updated);
      }
      // Running here: stop it and answer with the output it had; elsewhere its next checkpoint stops it.
      if (await this.pool.stop(id, 'cancelled')) return wireOf(await this.load(orgId, id));
      return wireOf(updated);
    }
    throw new GatewayError('internal_error');
  }

  /** DELETE /v1/responses/{id}: a job still queued or running is cancelled first (SPEC §12.4). */
  async delete(id: string, context: ResponsesContext): Promise<ResponsesResult> {
    const orgId = context.principal.orgId;
    const record = await this.load(orgId, id);
    if (!isTerminal(record.status) && record.isBackground) await this.cancelRecord(id, context);
    if (!(await this.deps.store.delete(orgId, id))) throw new GatewayError('response_not_found', { id });
    return json({ id, object: 'response', deleted: true });
  }
}
