import { type Kysely, type Selectable, sql } from 'kysely';
import { fromJsonOrNull, toFlag, toJsonOrNull } from './json-column.js';
import type { ResponseRecord, ResponseRepository, ResponseStatus } from './repositories.js';
import type { Database, ResponsesTable } from './schema.js';
import type { StoreContext } from './store-context.js';

const purgeBatch = 5_000;
// Literals, so SQLite can match the partial index `status = 'queued' and background = 1`.
const queued = sql.lit<'queued'>('queued');
const background = sql.lit<number>(1);

/** Background jobs waiting for a worker: what a claim looks for and `countQueued` counts. */
function queuedJobs(db: Kysely<Database>) {
  return db.selectFrom('responses').where('status', '=', queued).where('background', '=', background);
}

function toResponseRecord(row: Selectable<ResponsesTable>): ResponseRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    projectId: row.project_id,
    keyId: row.key_id,
    status: row.status,
    isBackground: row.background === 1,
    model: row.model,
    previousResponseId: row.previous_response_id,
    request: fromJsonOrNull(row.request),
    response: fromJsonOrNull(row.response),
    error: fromJsonOrNull(row.error),
    workerId: row.worker_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function createResponseRepository({ db, profile, clock }: StoreContext): ResponseRepository {
  return {
    async save(record) {
      const values = {
        id: record.id,
        org_id: record.orgId,
        project_id: record.projectId,
        key_id: record.keyId,
        status: record.status,
        background: toFlag(record.isBackground),
        model: record.model,
        previous_response_id: record.previousResponseId,
        request: toJsonOrNull(record.request),
        response: toJsonOrNull(record.response),
        error: toJsonOrNull(record.error),
        worker_id: record.workerId ?? null,
        created_at: record.createdAt,
        updated_at: clock.now(),
      };
      const { id: _id, org_id: _orgId, created_at: _createdAt, ...changes } = values;
      await db
        .insertInto('responses')
        .values(values)
        .onConflict((conflict) => conflict.column('id').doUpdateSet(changes))
        .execute();
    },

    async get(orgId, id) {
      const row = await db
        .selectFrom('responses')
        .selectAll()
        .where('id', '=', id)
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      return row === undefined ? undefined : toResponseRecord(row);
    },

    async delete(orgId, id) {
      const result = await db
        .deleteFrom('responses')
        .where('id', '=', id)
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async update(orgId, id, update) {
      let query = db
        .updateTable('responses')
        .set({
          ...(update.status === undefined ? {} : { status: update.status }),
          ...(update.response === undefined ? {} : { response: toJsonOrNull(update.response) }),
          ...(update.error === undefined ? {} : { error: toJsonOrNull(update.error) }),
          updated_at: update.now,
        })
        .where('id', '=', id);
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      if (update.ifStatusIn !== undefined) {
        if (update.ifStatusIn.length === 0) return undefined;
        query = query.where('status', 'in', [...update.ifStatusIn] as ResponseStatus[]);
      }
      const row = await query.returningAll().executeTakeFirst();
      return row === undefined ? undefined : toResponseRecord(row);
    },

    async claimNext({ workerId, now }) {
      // The pool polls every second and mostly finds nothing: a plain read first spares those polls
      // a write transaction (on SQLite the database's write lock, which the request log's writer
      // thread takes too). A job queued after the read is claimed at its enqueue's own notify.
      const anyQueued = await queuedJobs(db).select('pk').limit(1).executeTakeFirst();
      if (anyQueued === undefined) return undefined;
      return db.transaction().execute(async (trx) => {
        const next = await profile
          .lockRowsSkipLocked(queuedJobs(trx).select('pk').orderBy('created_at').orderBy('pk').limit(1))
          .executeTakeFirst();
        if (next === undefined) return undefined;
        const row = await trx
          .updateTable('responses')
          .set({ status: 'in_progress', worker_id: workerId, updated_at: now })
          .where('pk', '=', next.pk)
          .returningAll()
          .executeTakeFirstOrThrow();
        return toResponseRecord(row);
      });
    },

    async countQueued() {
      const row = await queuedJobs(db)
        .select((eb) => eb.fn.countAll<number>().as('total'))
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },

    async purge(before) {
      let deleted = 0;
      for (;;) {
        const result = await db
          .deleteFrom('responses')
          .where('pk', 'in', (eb) =>
            eb
              .selectFrom('responses')
              .select('pk')
              .where('created_at', '<', before)
              .orderBy('pk')
              .limit(purgeBatch),
          )
          .executeTakeFirst();
        const count = Number(result.numDeletedRows);
        deleted += count;
        if (count < purgeBatch) return deleted;
      }
    },
  };
}
