/** Opaque handle returned by `Timers.setTimeout`. */
export type TimerHandle = unknown;

/** Timer scheduling, injected so tests drive flushes, timeouts and back-off without sleeping. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Node timers, unreferenced: a pending telemetry flush never keeps the process alive on its own. */
export const systemTimers: Timers = {
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
