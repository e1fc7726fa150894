import type { RequestEvent } from './request-event.js';

/**
 * Where request events end up: one multi-row insert-or-ignore keyed by event `id`, with any
 * `settlement` applied idempotently by event id (SPEC §8.2, §10); `createSettlingSink` builds it from
 * the store's `requestEvents` and `billing` repositories.
 *
 * Contract the batcher relies on:
 * - Idempotent: inserting an event whose `id` is already stored is a no-op. Spool replays and
 *   write timeouts can deliver a batch twice; idempotency makes that exactly-once in the table.
 * - Reject only when the store is unavailable or too slow. A row the store can never accept must be
 *   handled inside `insertMany` (logged and skipped), or replay would retry its batch forever.
 */
export interface EventSink {
  insertMany(events: readonly RequestEvent[]): Promise<unknown>;
}
