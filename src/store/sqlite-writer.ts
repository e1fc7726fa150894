import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { RequestEvent } from '../telemetry/request-event.js';
import type { BatchWriter, ChargeManyResult, InsertChargingResult } from './dialect-profile.js';
import type { QueryListener } from './query-log.js';
import type { ChargeInput, InsertManyResult } from './repositories.js';
import { reasonOf } from './request-event-batch.js';
import { type ChargingBatch, toChargingBatch } from './sqlite-charging-insert.js';
import type { WriteGate } from './write-gate.js';

/** What the writer thread is started with (`workerData`). */
export interface WriterThreadOptions {
  /** The database file, as the main thread opened it. */
  path: string;
  /** Send back each statement's `onQuery` event with the answer. */
  shouldReportQueries: boolean;
}

/** What the main thread asks, one message each; the thread answers in order. */
export type WriterRequest =
  | { kind: 'insert-events'; events: readonly RequestEvent[] }
  | { kind: 'charge'; inputs: readonly ChargeInput[]; now: number }
  | {
      kind: 'insert-charging';
      /** The batch's last part (all of it when short). */
      batch: ChargingBatch;
      /** The batch's earlier parts, posted ahead as `StageMessage`s under this id. */
      staged?: { id: number; parts: number };
    }
  | { kind: 'close' };

export type WriterMessage = WriterRequest & { id: number };

/** Part of a batch posted ahead of the request that writes it; it has no answer. */
export interface StageMessage {
  kind: 'stage';
  stagedId: number;
  batch: ChargingBatch;
}

/**
 * Events per part of a batch posted to the thread. Making the rows and copying them costs 15-25 µs
 * per event on a slow machine, all of it on the event loop: a 500-event batch (SPEC §10's batch
 * size) in one post would hold requests up for about 10 ms. Parts of this size go one per turn of
 * the event loop, about 1 ms each. Smaller parts were tried: at max load each turn also serves every
 * request that is ready, so parts of 10 stretched a batch over 50 busy turns and the request log
 * fell behind (peak RSS under the next load 246 MB against 144-168).
 */
export const postPartEvents = 50;

/** A thrown error as it crosses the thread boundary (structured clone keeps no `code`). */
export interface WriterError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type QueryEvent = Parameters<QueryListener>[0];

export type WriterReply = { id: number; queries?: QueryEvent[] } & (
  | { ok: true; value: unknown }
  | { ok: false; error: WriterError }
);

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface RunningThread {
  worker: Worker;
  pending: Map<number, Pending>;
  /** The uncaught error that ended the thread, for the rejections that follow. */
  failure?: unknown;
}

/**
 * The writer thread's module: a sibling `.js` file in the bundle (dist/bundle/, an entry point of
 * scripts/bundle-gateway.ts) and in tsc's output. From src/ (vitest, tsx) it is a `.ts` file, which a
 * worker thread cannot load by itself; tsx's API loads it there.
 */
function writerThreadModule(): { filename: string | URL; isEval: boolean } {
  if (!import.meta.url.endsWith('.ts')) {
    return { filename: new URL('./sqlite-writer-thread.js', import.meta.url), isEval: false };
  }
  const source = new URL('./sqlite-writer-thread.ts', import.meta.url).href;
  return {
    filename: `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}))`,
    isEval: true,
  };
}

function errorOf(error: WriterError): Error {
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return error.code === undefined ? rebuilt : Object.assign(rebuilt, { code: error.code });
}

function isDataCloneError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'DataCloneError';
}

/** The events a structured clone can copy, and the others refused with the reason. */
function splitCloneable(events: readonly RequestEvent[]): {
  cloneable: RequestEvent[];
  rejected: InsertManyResult['rejected'];
} {
  const cloneable: RequestEvent[] = [];
  const rejected: InsertManyResult['rejected'] = [];
  for (const event of events) {
    try {
      structuredClone(event);
      cloneable.push(event);
    } catch (error) {
      rejected.push({ id: event.id, reason: reasonOf(error) });
    }
  }
  return { cloneable, rejected };
}

/**
 * The main thread's side of the SQLite writer thread (decision 0013): posts the request log's
 * batches and their charges to a worker thread that writes them on its own connection, and awaits
 * the answer. The thread starts at the first write. If it dies, what it was asked rejects (the
 * batcher spools the batch) and the next write starts a new one; the writes are idempotent by event
 * id, so a batch that committed before the thread died is not stored or charged twice on replay.
 *
 * Every request holds the write gate from posting to answer, so the main connection never waits
 * for the thread's lock inside SQLite, and the thread never waits for the main connection's.
 */
export class SqliteWriterThread implements BatchWriter {
  readonly #path: string;
  readonly #gate: WriteGate;
  readonly #onQuery: QueryListener | undefined;
  #thread: RunningThread | undefined;
  #nextId = 0;
  #nextStagedId = 0;
  #isClosed = false;

  constructor(options: { path: string; writeGate: WriteGate; onQuery?: QueryListener | undefined }) {
    this.#path = options.path;
    this.#gate = options.writeGate;
    this.#onQuery = options.onQuery;
  }

  /** The running thread's id; `undefined` before the first write, after `close()` or a crash. */
  get threadId(): number | undefined {
    return this.#thread?.worker.threadId;
  }

  async insertEvents(events: readonly RequestEvent[]): Promise<InsertManyResult> {
    try {
      return (await this.#request({ kind: 'insert-events', events })) as InsertManyResult;
    } catch (error) {
      if (!isDataCloneError(error)) throw error;
    }
    // An event that cannot be copied to the thread (it holds a function or a symbol) is refused alone.
    const { cloneable, rejected } = splitCloneable(events);
    const result = (await this.#request({ kind: 'insert-events', events: cloneable })) as InsertManyResult;
    return { inserted: result.inserted, rejected: [...rejected, ...result.rejected] };
  }

  /**
   * The batch goes to the thread as rows, made here (`toChargingBatch`): only strings and numbers
   * cross. A long batch goes in parts of `postPartEvents`, one per turn of the event loop; the
   * thread writes it in one transaction once the last part has come, and refuses it if a part is
   * missing (a thread that died and was replaced in between), so the batcher retries it whole.
   */
  async insertEventsCharging(
    events: readonly RequestEvent[],
    extraCharges: readonly ChargeInput[],
    now: number,
  ): Promise<InsertChargingResult> {
    if (this.#isClosed) throw new Error('The SQLite store is closed.');
    let staged: { id: number; parts: number } | undefined;
    let start = 0;
    if (events.length > postPartEvents) {
      staged = { id: ++this.#nextStagedId, parts: 0 };
      for (; events.length - start > postPartEvents; start += postPartEvents) {
        // Closed while the parts went out: no new thread for them (the write below rejects).
        if (this.#isClosed) break;
        const batch = toChargingBatch(events.slice(start, start + postPartEvents), [], now);
        const thread = this.#thread ?? this.#start();
        thread.worker.postMessage(
          { kind: 'stage', stagedId: staged.id, batch } satisfies StageMessage,
          batch.transfer,
        );
        staged.parts += 1;
        await nextTurn();
      }
    }
    const batch = toChargingBatch(events.slice(start), extraCharges, now);
    return (await this.#request(
      { kind: 'insert-charging', batch, ...(staged === undefined ? {} : { staged }) },
      batch.transfer,
    )) as InsertChargingResult;
  }

  async chargeMany(inputs: readonly ChargeInput[], now: number): Promise<ChargeManyResult> {
    if (inputs.length === 0) return { results: [], snapshots: [] };
    return (await this.#request({ kind: 'charge', inputs, now })) as ChargeManyResult;
  }

  /**
   * Lets the writes already asked for finish, has the thread checkpoint the WAL and close its
   * connection, and resolves once the thread has exited. Later writes reject.
   */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    await this.#gate.run(async () => {
      const thread = this.#thread;
      if (thread === undefined) return;
      const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
      thread.worker.ref();
      await this.#send(thread, { kind: 'close' }).catch(() => {
        // The thread died while closing: its connection is closed all the same.
      });
      await exited;
    });
  }

  /** Ends the thread at once, as a crash would: what it was asked rejects. The next write starts another. */
  async terminate(): Promise<void> {
    await this.#thread?.worker.terminate();
  }

  #request(request: WriterRequest, transfer: readonly ArrayBuffer[] = []): Promise<unknown> {
    if (this.#isClosed) return Promise.reject(new Error('The SQLite store is closed.'));
    return this.#gate.run(() => this.#send(this.#thread ?? this.#start(), request, transfer));
  }

  #send(
    thread: RunningThread,
    request: WriterRequest,
    transfer: readonly ArrayBuffer[] = [],
  ): Promise<unknown> {
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      // A thread with work in hand keeps the process alive; an idle one does not.
      thread.worker.ref();
      try {
        thread.worker.postMessage({ ...request, id } satisfies WriterMessage, transfer);
      } catch (error) {
        this.#settled(thread, id);
        reject(error);
      }
    });
  }

  #settled(thread: RunningThread, id: number): Pending | undefined {
    const pending = thread.pending.get(id);
    thread.pending.delete(id);
    if (thread.pending.size === 0 && !this.#isClosed) thread.worker.unref();
    return pending;
  }

  #start(): RunningThread {
    const { filename, isEval } = writerThreadModule();
    const workerData: WriterThreadOptions = {
      path: this.#path,
      shouldReportQueries: this.#onQuery !== undefined,
    };
    // A young generation of 8 MB instead of V8's default kept the thread's resident memory about
    // 7 MB lower over 30,000 events (a batch leaves a few MB of garbage), at no visible cost.
    const worker = new Worker(filename, {
      eval: isEval,
      workerData,
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    worker.unref();
    const thread: RunningThread = { worker, pending: new Map() };
    worker.on('message', (reply: WriterReply) => {
      if (reply.queries !== undefined) for (const query of reply.queries) this.#onQuery?.(query);
      const pending = this.#settled(thread, reply.id);
      if (reply.ok) pending?.resolve(reply.value);
      else pending?.reject(errorOf(reply.error));
    });
    worker.on('error', (error) => {
      thread.failure = error;
    });
    // An answer that cannot be read would leave its request, and the write gate, waiting forever.
    worker.on('messageerror', (error) => {
      thread.failure = error;
      void worker.terminate();
    });
    worker.on('exit', (code) => {
      if (this.#thread === thread) this.#thread = undefined;
      const error = new Error(`The SQLite writer thread stopped (exit code ${code}).`, {
        cause: thread.failure,
      });
      for (const pending of thread.pending.values()) pending.reject(error);
      thread.pending.clear();
    });
    this.#thread = thread;
    return thread;
  }
}
