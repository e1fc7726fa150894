import type { Insertable, Kysely } from 'kysely';
import { chargeMany, chargeOfEvent } from './billing-charges.js';
import { getCompletion, listCompletions, streamCompletions } from './completion-queries.js';
import { getEvent, listEvents } from './event-queries.js';
import { chunkRows } from './json-column.js';
import type { RequestEventRepository } from './repositories.js';
import { type EventRowWriter, insertEventBatch } from './request-event-batch.js';
import { fromEventRow } from './request-event-rows.js';
import type { Database, RequestEventsTable } from './schema.js';
import type { StoreContext } from './store-context.js';
import { getTrace, listTraces } from './trace-queries.js';
import { usage } from './usage-queries.js';

/** Rows per retention statement: short transactions, no long-held locks, bounded WAL growth. */
const purgeBatch = 5_000;
const defaultExportPage = 500;

function insertRows(db: Kysely<Database>, rows: Insertable<RequestEventsTable>[]): Promise<number> {
  return db
    .insertInto('request_events')
    .values(rows)
    .onConflict((conflict) => conflict.column('id').doNothing())
    .executeTakeFirst()
    .then((result) => Number(result.numInsertedOrUpdatedRows ?? 0));
}

export function createRequestEventRepository({
  db,
  profile,
  batchWriter,
}: StoreContext): RequestEventRepository {
  const rowWriter: EventRowWriter = {
    writeBatch: (rows) =>
      db.transaction().execute(async (trx) => {
        let count = 0;
        for (const chunk of chunkRows(rows, profile.maxParameters)) count += await insertRows(trx, chunk);
        return count;
      }),
    writeOne: (row) => insertRows(db, [row]),
  };

  return {
    insertMany: (events) =>
      batchWriter === undefined
        ? insertEventBatch(events, rowWriter, profile.isDataError)
        : batchWriter.insertEvents(events),

    async insertManyCharging(events, now) {
      if (batchWriter !== undefined) return batchWriter.insertEventsCharging(events, [], now);
      // Two transactions, each idempotent by event id: the rows, then the charges with debit rows.
      const { inserted, rejected } = await insertEventBatch(events, rowWriter, profile.isDataError);
      const charges = events.map(chargeOfEvent).filter((charge) => charge !== undefined);
      const { snapshots } = await chargeMany(db, profile, charges, now);
      return { inserted, rejected, snapshots };
    },

    async get(orgId, id) {
      const row = await db
        .selectFrom('request_events')
        .selectAll()
        .where('id', '=', id)
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      return row === undefined ? undefined : fromEventRow(row);
    },

    listEvents: (query) => listEvents(db, profile, query),
    getEvent: (projectId, id) => getEvent(db, profile, projectId, id),
    listCompletions: (query) => listCompletions(db, profile, query),
    getCompletion: (projectId, id) => getCompletion(db, profile, projectId, id),
    streamCompletions: (filters, pageSize = defaultExportPage) =>
      streamCompletions(db, profile, filters, pageSize),
    listTraces: (query) => listTraces(db, query),
    getTrace: (projectId, traceId) => getTrace(db, projectId, traceId),
    usage: (query) => usage(db, query),

    async purge({ before, bodiesBefore }) {
      // Oldest rows have the lowest pk (inserted in time order), so scanning by pk reaches them first
      // without an index on ts alone.
      let deletedEvents = 0;
      for (;;) {
        const result = await db
          .deleteFrom('request_events')
          .where('pk', 'in', (eb) =>
            eb
              .selectFrom('request_events')
              .select('pk')
              .where('ts', '<', before)
              .orderBy('pk')
              .limit(purgeBatch),
          )
          .executeTakeFirst();
        const deleted = Number(result.numDeletedRows);
        deletedEvents += deleted;
        if (deleted < purgeBatch) break;
      }
      let clearedBodies = 0;
      let afterPk = 0;
      while (bodiesBefore !== undefined) {
        const rows = await db
          .selectFrom('request_events')
          .select('pk')
          .where('pk', '>', afterPk)
          .where('ts', '<', bodiesBefore)
          .where((eb) => eb.or([eb('request_body', 'is not', null), eb('response_body', 'is not', null)]))
          .orderBy('pk')
          .limit(purgeBatch)
          .execute();
        const last = rows.at(-1);
        if (last === undefined) break;
        await db
          .updateTable('request_events')
          .set({ request_body: null, response_body: null })
          .where(
            'pk',
            'in',
            rows.map((row) => row.pk),
          )
          .execute();
        clearedBodies += rows.length;
        afterPk = last.pk;
        if (rows.length < purgeBatch) break;
      }
      return { deletedEvents, clearedBodies };
    },
  };
}
