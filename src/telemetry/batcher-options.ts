import type { Clock } from '../clock.js';
import type { EventSink } from './event-sink.js';
import type { Spool } from './spool.js';
import type { Timers } from './timers.js';

export type DropReason = 'queue_full' | 'closed' | 'shutdown' | 'unserializable';

/** Metric and log callbacks. They run on the writer's path (never inside `enqueue`, except `onDropped`). */
export interface TelemetryBatcherHooks {
  /** A batch left the queue: stored in one sink call, or journaled in the spool. */
  onBatchWritten?(batch: { target: 'sink' | 'spool'; events: number; latencyMs: number }): void;
  /** A spooled batch was accepted by the sink during recovery. */
  onReplayed?(batch: { events: number; latencyMs: number }): void;
  /** Events lost: each one belongs in `maniac_telemetry_dropped_events_total`. */
  onDropped?(count: number, reason: DropReason): void;
  /** The store went down (a write failed or timed out) or came back (a write succeeded). */
  onStoreHealthChanged?(isHealthy: boolean): void;
  onError?(error: unknown, operation: 'sink' | 'spool'): void;
}

export interface TelemetryBatcherOptions {
  sink: EventSink;
  /** Opened by the caller; the batcher owns it from then on and closes it in `close()`. */
  spool: Spool;
  /** `telemetry.batchSize`: events per sink call; reaching it triggers a flush. */
  batchSize: number;
  /** `telemetry.flushIntervalMs`: everything queued is flushed this often. */
  flushIntervalMs: number;
  /** `telemetry.queueMax`: events held in memory at most, including the batch being written. */
  queueMax: number;
  /**
   * `telemetry.queueMaxBytes`: about this many bytes of events held in memory at most (estimated by
   * `approximateEventBytes`); past it events are dropped and counted as with `queueMax`. Default 256 MiB.
   */
  queueMaxBytes?: number;
  /** `telemetry.batchMaxBytes`: a batch holds about this many bytes at most; reaching it triggers a flush. Default 4 MiB. */
  batchMaxBytes?: number;
  /** A sink call slower than this counts as failed and its batch is spooled. Default 5 000. */
  writeTimeoutMs?: number;
  /** First delay before probing the store again; doubles per failure up to `recoveryMaxMs`. Default 1 000. */
  recoveryInitialMs?: number;
  /** Default 30 000. */
  recoveryMaxMs?: number;
  clock?: Clock;
  timers?: Timers;
  hooks?: TelemetryBatcherHooks;
}

export interface TelemetryBatcherStats {
  queueDepth: number;
  isStoreHealthy: boolean;
  /** True while new batches go to the spool (store down, or older spooled batches not yet replayed). */
  isSpooling: boolean;
  spoolBytes: number;
  /** Events stored directly, journaled in the spool, replayed from it, and lost. */
  written: number;
  spooled: number;
  replayed: number;
  dropped: number;
}
