import type { EventSink } from './event-sink.js';
import type { RequestEvent } from './request-event.js';
import type { Timers } from './timers.js';

export class TelemetryWriteTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`request event batch not stored within ${timeoutMs} ms`);
    this.name = 'TelemetryWriteTimeoutError';
  }
}

export interface TimedInsert {
  /** Settles with the sink call, or rejects at the deadline or on `abandon()`, whichever comes first. */
  done: Promise<void>;
  abandon(): void;
}

/**
 * One `insertMany` bounded in time. The sink call itself cannot be cancelled; if it commits after
 * the deadline, the copy the caller spooled is ignored by id on replay.
 */
export function insertWithDeadline(
  sink: EventSink,
  events: readonly RequestEvent[],
  timers: Timers,
  timeoutMs: number,
): TimedInsert {
  let abandon: () => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    let isSettled = false;
    const finish = (error?: unknown): void => {
      if (isSettled) return;
      isSettled = true;
      timers.clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error);
    };
    const timer = timers.setTimeout(() => finish(new TelemetryWriteTimeoutError(timeoutMs)), timeoutMs);
    abandon = () => finish(new Error('request event write abandoned for shutdown'));
    let call: Promise<unknown>;
    try {
      call = sink.insertMany(events);
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      () => finish(),
      (error: unknown) => finish(error ?? new Error('request event write failed')),
    );
  });
  return { done, abandon };
}
