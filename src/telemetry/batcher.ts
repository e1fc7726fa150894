import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type Clock, systemClock } from '../clock.js';
import type {
  DropReason,
  TelemetryBatcherHooks,
  TelemetryBatcherOptions,
  TelemetryBatcherStats,
} from './batcher-options.js';
import { BoundedQueue } from './event-queue.js';
import type { EventSink } from './event-sink.js';
import { approximateEventBytes } from './event-size.js';
import type { RequestEvent } from './request-event.js';
import type { Spool } from './spool.js';
import { insertWithDeadline } from './timed-insert.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';

export type {
  DropReason,
  TelemetryBatcherHooks,
  TelemetryBatcherOptions,
  TelemetryBatcherStats,
} from './batcher-options.js';
export { TelemetryWriteTimeoutError } from './timed-insert.js';

interface FlushWaiter {
  target: number;
  resolve(isDurable: boolean): void;
}

/**
 * The request-event write path of SPEC §10. `enqueue` only pushes onto a bounded in-memory queue;
 * one writer, off the request path, takes batches of `batchSize` (on size or every
 * `flushIntervalMs`) and stores each in one `sink.insertMany`. A failed or slow write sends the batch
 * to the spool and switches to spooling; a recovery loop with back-off replays the spool in order
 * and switches back to direct writes once it is empty. Events leave the queue only once stored or
 * journaled, so they are dropped (and counted) only when the queue is full, which happens when the
 * spool is full or failing too.
 */
export class TelemetryBatcher {
  readonly #sink: EventSink;
  readonly #spool: Spool;
  readonly #queue: BoundedQueue<RequestEvent>;
  readonly #batchSize: number;
  readonly #batchMaxBytes: number;
  readonly #flushIntervalMs: number;
  readonly #writeTimeoutMs: number;
  readonly #recoveryInitialMs: number;
  readonly #recoveryMaxMs: number;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #hooks: TelemetryBatcherHooks;

  #state: 'created' | 'running' | 'closing' | 'closed' = 'created';
  #isSpooling = false;
  #isStoreHealthy = true;
  #isSpoolOnly = false;
  /** Consecutive failed store writes, for the back-off. */
  #failures = 0;
  #isRecoveryDue = false;
  #isWorking = false;
  /** The last write failed on both sink and spool: wait for the next tick or replay progress. */
  #isStalled = false;
  #kickTimer: TimerHandle | undefined;
  #flushTimer: TimerHandle | undefined;
  #recoveryTimer: TimerHandle | undefined;
  #abandonSinkCall: (() => void) | undefined;
  /** Events ever accepted / ever removed from the queue; their difference is the queue depth. */
  #accepted = 0;
  #settled = 0;
  /** The writer keeps flushing until `#settled` reaches this, whatever the batch fill. */
  #drainTarget = 0;
  #flushWaiters: FlushWaiter[] = [];
  #idleWaiters: (() => void)[] = [];
  #closing: Promise<{ dropped: number }> | undefined;
  #written = 0;
  #spooled = 0;
  #replayed = 0;
  #dropped = 0;

  constructor(options: TelemetryBatcherOptions) {
    this.#sink = options.sink;
    this.#spool = options.spool;
    this.#queue = new BoundedQueue(options.queueMax, options.queueMaxBytes ?? 256 * 1024 * 1024);
    this.#batchSize = options.batchSize;
    this.#batchMaxBytes = options.batchMaxBytes ?? 4 * 1024 * 1024;
    this.#flushIntervalMs = options.flushIntervalMs;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? 5_000;
    this.#recoveryInitialMs = options.recoveryInitialMs ?? 1_000;
    this.#recoveryMaxMs = options.recoveryMaxMs ?? 30_000;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#hooks = options.hooks ?? {};
  }

  /** Starts the flush timer; batches left in the spool by an earlier process are replayed first. */
  start(): void {
    if (this.#state !== 'created') return;
    this.#state = 'running';
    this.#armFlushTimer();
    if (this.#spool.hasPending) {
      this.#isSpooling = true;
      this.#isRecoveryDue = true;
      this.#kick();
    }
  }

  /** Hands one event to the writer. Synchronous, O(1), never throws, never waits. */
  enqueue(event: RequestEvent): void {
    if (this.#state === 'closed') {
      this.#drop(1, 'closed');
      return;
    }
    if (!this.#queue.push(event, approximateEventBytes(event))) {
      this.#drop(1, 'queue_full');
      return;
    }
    this.#accepted++;
    if (!this.#isBatchReady() || this.#isWorking || this.#isStalled) return;
    if (this.#kickTimer !== undefined || this.#state !== 'running') return;
    // The write starts on a later turn of the event loop, never inside the request's own call stack.
    this.#kickTimer = this.#timers.setTimeout(this.#scheduledKick, 0);
  }

  /** Stores or spools everything enqueued so far; true once all of it is durable. */
  flush(): Promise<boolean> {
    const target = this.#accepted;
    if (this.#settled >= target) return Promise.resolve(true);
    this.#drainTarget = Math.max(this.#drainTarget, target);
    const done = new Promise<boolean>((resolve) => this.#flushWaiters.push({ target, resolve }));
    this.#isStalled = false;
    this.#kick();
    return done;
  }

  /**
   * Shutdown (SPEC §13.5): stops the timers, flushes or spools the queue, closes the spool. Events
   * that could be neither stored nor spooled are dropped and counted. `spoolOnly` (a second signal)
   * stops using the store, abandoning a sink call in flight, and spools the rest.
   */
  close(options: { spoolOnly?: boolean } = {}): Promise<{ dropped: number }> {
    if (options.spoolOnly) {
      this.#isSpoolOnly = true;
      this.#abandonSinkCall?.();
    }
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Resolves when the writer has nothing in progress (tests use it to wait for a flush). */
  whenIdle(): Promise<void> {
    if (!this.#isWorking) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  get queueDepth(): number {
    return this.#queue.size;
  }

  get isStoreHealthy(): boolean {
    return this.#isStoreHealthy;
  }

  stats(): TelemetryBatcherStats {
    return {
      queueDepth: this.#queue.size,
      isStoreHealthy: this.#isStoreHealthy,
      isSpooling: this.#isSpooling,
      spoolBytes: this.#spool.bytes,
      written: this.#written,
      spooled: this.#spooled,
      replayed: this.#replayed,
      dropped: this.#dropped,
    };
  }

  async #close(): Promise<{ dropped: number }> {
    this.#state = 'closing';
    for (const timer of [this.#flushTimer, this.#recoveryTimer, this.#kickTimer]) {
      if (timer !== undefined) this.#timers.clearTimeout(timer);
    }
    this.#flushTimer = this.#recoveryTimer = this.#kickTimer = undefined;
    this.#isRecoveryDue = false;
    while (this.#queue.size > 0 && (await this.flush())) {}
    this.#state = 'closed';
    const dropped = this.#queue.size;
    if (dropped > 0) {
      this.#queue.discard(dropped);
      this.#settled += dropped;
      this.#drop(dropped, 'shutdown');
    }
    await this.whenIdle();
    await this.#spool
      .close()
      .catch((error: unknown) => this.#emit(() => this.#hooks.onError?.(error, 'spool')));
    return { dropped };
  }

  readonly #scheduledKick = (): void => {
    this.#kickTimer = undefined;
    this.#kick();
  };

  readonly #tick = (): void => {
    this.#flushTimer = undefined;
    this.#drainTarget = this.#accepted;
    this.#isStalled = false;
    this.#kick();
    this.#armFlushTimer();
  };

  #armFlushTimer(): void {
    if (this.#state === 'running')
      this.#flushTimer = this.#timers.setTimeout(this.#tick, this.#flushIntervalMs);
  }

  #kick(): void {
    if (this.#isWorking) return;
    this.#isWorking = true;
    void this.#work();
  }

  /** The only writer: replays (while recovering) and writes queued batches, one operation at a time. */
  async #work(): Promise<void> {
    try {
      for (let isFirst = true; ; isFirst = false) {
        // Between operations, let requests and I/O run: a backlog must not become one long stall.
        if (!isFirst) await yieldToEventLoop();
        if (this.#isRecoveryDue && (await this.#replayOne())) this.#isStalled = false;
        const count = this.#isStalled ? 0 : this.#nextBatchSize();
        if (count > 0) {
          if (!(await this.#writeBatch(count))) this.#isStalled = true;
          this.#resolveFlushWaiters(false);
        } else if (!this.#isRecoveryDue) {
          break;
        }
      }
    } catch (error) {
      this.#emit(() => this.#hooks.onError?.(error, 'spool'));
    } finally {
      this.#isWorking = false;
      this.#resolveFlushWaiters(true);
      const idle = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of idle) resolve();
    }
  }

  /** Resolves flushes whose events are all durable; once the writer stops, the rest as not durable. */
  #resolveFlushWaiters(isWriterDone: boolean): void {
    if (this.#flushWaiters.length === 0) return;
    const waiting: FlushWaiter[] = [];
    for (const waiter of this.#flushWaiters) {
      if (this.#settled >= waiter.target) waiter.resolve(true);
      else if (isWriterDone) waiter.resolve(false);
      else waiting.push(waiter);
    }
    this.#flushWaiters = waiting;
  }

  /** A full batch is waiting: `batchSize` events, or `batchMaxBytes` of them. */
  #isBatchReady(): boolean {
    return this.#queue.size >= this.#batchSize || this.#queue.weight >= this.#batchMaxBytes;
  }

  #nextBatchSize(): number {
    const size = this.#queue.size;
    if (this.#isBatchReady() || (size > 0 && this.#settled < this.#drainTarget)) {
      return this.#queue.countWithin(this.#batchSize, this.#batchMaxBytes);
    }
    return 0;
  }

  /** Stores the first `count` queued events, or spools them; false if neither worked (they stay queued). */
  async #writeBatch(count: number): Promise<boolean> {
    const events = this.#queue.peek(count);
    if (!this.#isSpooling && !this.#isSpoolOnly) {
      const startedMs = this.#clock.monotonic();
      try {
        await this.#callSink(events);
        this.#settle(count);
        this.#written += count;
        this.#storeSucceeded();
        const latencyMs = this.#clock.monotonic() - startedMs;
        this.#emit(() => this.#hooks.onBatchWritten?.({ target: 'sink', events: count, latencyMs }));
        return true;
      } catch (error) {
        this.#emit(() => this.#hooks.onError?.(error, 'sink'));
        this.#storeFailed();
        this.#isSpooling = true;
      }
    }
    const startedMs = this.#clock.monotonic();
    try {
      const result = await this.#spool.append(events);
      if (result.status === 'full') return false;
      this.#settle(count);
      this.#spooled += count - result.unserializable;
      if (result.unserializable > 0) this.#drop(result.unserializable, 'unserializable');
      const latencyMs = this.#clock.monotonic() - startedMs;
      this.#emit(() => this.#hooks.onBatchWritten?.({ target: 'spool', events: count, latencyMs }));
      return true;
    } catch (error) {
      this.#emit(() => this.#hooks.onError?.(error, 'spool'));
      return false;
    }
  }

  /** One recovery step: replay the oldest spooled batch; true if it made progress. */
  async #replayOne(): Promise<boolean> {
    if (this.#isSpoolOnly || this.#state === 'closed') {
      this.#isRecoveryDue = false;
      return false;
    }
    try {
      const batch = await this.#spool.peek();
      if (!batch) {
        // Replayed to the end: later batches may go straight to the store again, order intact.
        this.#isSpooling = false;
        this.#isRecoveryDue = false;
        return true;
      }
      const startedMs = this.#clock.monotonic();
      try {
        await this.#callSink(batch.events);
      } catch (error) {
        this.#emit(() => this.#hooks.onError?.(error, 'sink'));
        this.#storeFailed();
        this.#retryRecoveryLater();
        return false;
      }
      await this.#spool.ack(batch);
      this.#replayed += batch.events.length;
      this.#storeSucceeded();
      const latencyMs = this.#clock.monotonic() - startedMs;
      this.#emit(() => this.#hooks.onReplayed?.({ events: batch.events.length, latencyMs }));
      return true;
    } catch (error) {
      this.#emit(() => this.#hooks.onError?.(error, 'spool'));
      this.#retryRecoveryLater();
      return false;
    }
  }

  /** One sink call, failed past the write timeout or when shutdown abandons it (`spoolOnly`). */
  async #callSink(events: RequestEvent[]): Promise<void> {
    const call = insertWithDeadline(this.#sink, events, this.#timers, this.#writeTimeoutMs);
    this.#abandonSinkCall = call.abandon;
    try {
      await call.done;
    } finally {
      this.#abandonSinkCall = undefined;
    }
  }

  #settle(count: number): void {
    this.#queue.discard(count);
    this.#settled += count;
  }

  #storeSucceeded(): void {
    this.#failures = 0;
    this.#setStoreHealthy(true);
  }

  #storeFailed(): void {
    this.#failures++;
    this.#setStoreHealthy(false);
    if (!this.#isRecoveryDue) this.#scheduleRecovery();
  }

  #retryRecoveryLater(): void {
    this.#isRecoveryDue = false;
    this.#scheduleRecovery();
  }

  #scheduleRecovery(): void {
    if (this.#state !== 'running' || this.#recoveryTimer !== undefined) return;
    const delayMs = Math.min(
      this.#recoveryMaxMs,
      this.#recoveryInitialMs * 2 ** Math.max(0, this.#failures - 1),
    );
    this.#recoveryTimer = this.#timers.setTimeout(() => {
      this.#recoveryTimer = undefined;
      this.#isRecoveryDue = true;
      this.#kick();
    }, delayMs);
  }

  #setStoreHealthy(isHealthy: boolean): void {
    if (this.#isStoreHealthy === isHealthy) return;
    this.#isStoreHealthy = isHealthy;
    this.#emit(() => this.#hooks.onStoreHealthChanged?.(isHealthy));
  }

  #drop(count: number, reason: DropReason): void {
    this.#dropped += count;
    this.#emit(() => this.#hooks.onDropped?.(count, reason));
  }

  /** A throwing metrics hook must not break `enqueue`'s promise never to throw, nor the writer. */
  #emit(call: () => void): void {
    try {
      call();
    } catch {
      // Nothing useful to do: the hook's own metric is what failed.
    }
  }
}
