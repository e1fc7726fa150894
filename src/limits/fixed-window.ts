/** A fixed window aligned to the Unix epoch (SPEC §7), in whole seconds. */
export interface FixedWindow {
  startSeconds: number;
  /** Window end: the `x-ratelimit-reset` value. */
  resetSeconds: number;
  /** `max(1, reset − now)`, rounded up so a client that waits this long is in the next window. */
  retryAfterSeconds: number;
}

export function fixedWindowAt(nowMs: number, windowSeconds: number): FixedWindow {
  const windowMs = windowSeconds * 1000;
  const startSeconds = Math.floor(nowMs / windowMs) * windowSeconds;
  const resetSeconds = startSeconds + windowSeconds;
  return {
    startSeconds,
    resetSeconds,
    retryAfterSeconds: Math.max(1, Math.ceil(resetSeconds - nowMs / 1000)),
  };
}
