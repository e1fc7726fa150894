import type { Insertable } from 'kysely';
import type { RequestEvent } from '../telemetry/request-event.js';
import type { InsertManyResult } from './repositories.js';
import { toEventRow } from './request-event-rows.js';
import type { RequestEventsTable } from './schema.js';

type EventRow = Insertable<RequestEventsTable>;

/** How rows reach `request_events`: insert-or-ignore by id, resolving to the number inserted. */
export interface EventRowWriter {
  /** All rows in one transaction; a refused row rejects with the engine's error and stores nothing. */
  writeBatch(rows: EventRow[]): Promise<number>;
  writeOne(row: EventRow): Promise<number>;
}

export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `requestEvents.insertMany` on any engine, in whichever thread writes: an event that cannot be made
 * a row is refused alone; the rows go in one transaction; when a row spoils it (a data error, which
 * no retry can cure), the rows are stored one by one and the refused ones reported. Any other error
 * (the store unavailable) rejects, so the batcher spools the batch.
 */
export async function insertEventBatch(
  events: readonly RequestEvent[],
  writer: EventRowWriter,
  isDataError: (error: unknown) => boolean,
): Promise<InsertManyResult> {
  const rows: EventRow[] = [];
  const rejected: InsertManyResult['rejected'] = [];
  for (const event of events) {
    try {
      rows.push(toEventRow(event));
    } catch (error) {
      rejected.push({ id: event.id, reason: reasonOf(error) });
    }
  }
  if (rows.length === 0) return { inserted: 0, rejected };
  try {
    return { inserted: await writer.writeBatch(rows), rejected };
  } catch (error) {
    if (!isDataError(error)) throw error;
  }
  let inserted = 0;
  for (const row of rows) {
    try {
      inserted += await writer.writeOne(row);
    } catch (error) {
      if (!isDataError(error)) throw error;
      rejected.push({ id: row.id, reason: reasonOf(error) });
    }
  }
  return { inserted, rejected };
}
