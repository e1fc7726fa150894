import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { RequestEvent } from '../telemetry/request-event.js';
import { chargeOfEvent, ledgerSnapshotIn } from './billing-charges.js';
import { chargeTotals } from './budget-spend.js';
import type { InsertChargingResult } from './dialect-profile.js';
import type { QueryListener } from './query-log.js';
import type { ChargeInput } from './repositories.js';
import { reasonOf } from './request-event-batch.js';
import { toEventRow } from './request-event-rows.js';
import type { Database } from './schema.js';

/** A charge riding on a row: payer, amount (micro-dollars, not yet rounded) and the event's time. */
export type ChargeTuple = readonly [
  orgId: string,
  projectId: string | null,
  keyId: string | null,
  actualMicros: number,
  now: number,
];

/**
 * A request-log batch as the writer thread takes it: each event already a row of values in
 * `columns` order, with its charge beside it (decision 0014). Arrays of strings and numbers cross
 * to the thread for a fraction of what the events' objects cost: V8 copies an object key by key and
 * rebuilds its shape on the other side; in a micro-benchmark of 200-event batches the process spent
 * about 25 µs less per event (the bodies are serialized here either way).
 */
export interface ChargingBatch {
  columns: readonly string[];
  rows: readonly (readonly unknown[])[];
  /** `rows[i]`'s event id. */
  ids: readonly string[];
  /** `rows[i]`'s charge, or null when its event charges nothing. */
  charges: readonly (ChargeTuple | null)[];
  /** Charges of events that never became rows: charged through a debit row each. */
  extraCharges: readonly ChargeInput[];
  /** Events that could not be made rows (a value JSON cannot hold). */
  rejected: InsertChargingResult['rejected'];
  now: number;
  /** The buffers of the body texts held as bytes in `rows`: moved to the thread, not copied. */
  transfer: ArrayBuffer[];
}

/**
 * Columns whose long texts go in a row as UTF-8 bytes: posted, the bytes move to the writer thread
 * with their buffer, where a string is copied twice (out of the main thread's heap and into the
 * thread's) and is garbage on both sides soon after. The insert casts them back to text.
 */
const byteColumns = new Set(['request_body', 'response_body']);

/** Shorter texts cross as strings: copying them costs less than a buffer of their own. */
export const byteTextChars = 16 * 1024;

const textEncoder = new TextEncoder();

/** Makes rows of `events`; an event that cannot be one is refused, and its charge goes to `extraCharges`. */
export function toChargingBatch(
  events: readonly RequestEvent[],
  extraCharges: readonly ChargeInput[],
  now: number,
): ChargingBatch {
  let columns: readonly string[] | undefined;
  const rows: unknown[][] = [];
  const ids: string[] = [];
  const charges: (ChargeTuple | null)[] = [];
  const extra = [...extraCharges];
  const rejected: InsertChargingResult['rejected'] = [];
  const transfer: ArrayBuffer[] = [];
  let byteIndexes: number[] = [];
  for (const event of events) {
    const charge = chargeOfEvent(event);
    let row: Readonly<Record<string, unknown>>;
    try {
      row = toEventRow(event);
    } catch (error) {
      rejected.push({ id: event.id, reason: reasonOf(error) });
      if (charge) extra.push(charge);
      continue;
    }
    if (columns === undefined) {
      columns = Object.keys(row);
      byteIndexes = columns.flatMap((column, index) => (byteColumns.has(column) ? [index] : []));
    }
    const values = columns.map((column) => row[column]);
    for (const index of byteIndexes) {
      const value = values[index];
      if (typeof value !== 'string' || value.length < byteTextChars) continue;
      const bytes = textEncoder.encode(value);
      values[index] = bytes;
      transfer.push(bytes.buffer);
    }
    rows.push(values);
    ids.push(event.id);
    charges.push(
      charge ? [charge.orgId, charge.projectId, charge.keyId, charge.actualMicros, charge.now] : null,
    );
  }
  return { columns: columns ?? [], rows, ids, charges, extraCharges: extra, rejected, now, transfer };
}

/** One batch from the parts it was posted in, in order. */
export function joinChargingBatches(parts: readonly ChargingBatch[]): ChargingBatch {
  const last = parts[parts.length - 1];
  if (last === undefined) throw new Error('A batch has at least one part.');
  if (parts.length === 1) return last;
  return {
    columns: parts.find((part) => part.rows.length > 0)?.columns ?? [],
    rows: parts.flatMap((part) => part.rows),
    ids: parts.flatMap((part) => part.ids),
    charges: parts.flatMap((part) => part.charges),
    extraCharges: parts.flatMap((part) => part.extraCharges),
    rejected: parts.flatMap((part) => part.rejected),
    now: last.now,
    transfer: parts.flatMap((part) => part.transfer),
  };
}

function chargeInputOf(
  eventId: string,
  [orgId, projectId, keyId, actualMicros, now]: ChargeTuple,
): ChargeInput {
  return { eventId, orgId, projectId, keyId, actualMicros, now };
}

/** `BatchWriter.insertEventsCharging` on one SQLite connection, given the batch as rows. */
export type ChargingInsert = (batch: ChargingBatch) => Promise<InsertChargingResult>;

interface Totals {
  inserted: number;
  rejected: InsertChargingResult['rejected'];
}

/**
 * The request log's batch and its charges in one transaction, through statements prepared once:
 * each event row is inserted or ignored by id, and only an event this transaction stored is charged
 * (its balance debit and budget spend), so the event's own row is the charge's idempotency record
 * and a replayed batch charges nothing twice. An event the database refuses (a data error, which
 * fails only its own statement, not the transaction) is reported and charged through a debit row
 * in `billing_ledger`, idempotent by event id as before; so are `extraCharges` (events refused
 * before they reached this thread). Debits are summed per organization and spend per counter, one
 * statement each. The organizations' snapshots are read after the commit, on the same connection.
 *
 * Runs inside `db.connection().execute(…)`, like `writeNewRows`, so that no Kysely statement or
 * transaction interleaves with it.
 */
export function sqliteChargingInsert(
  db: Kysely<Database>,
  database: BetterSqlite3.Database,
  isDataError: (error: unknown) => boolean,
  onQuery: QueryListener | undefined,
): ChargingInsert {
  const eventInserts = new Map<string, BetterSqlite3.Statement>();
  const eventInsertFor = (columns: readonly string[]): BetterSqlite3.Statement => {
    const key = columns.join(',');
    let statement = eventInserts.get(key);
    if (statement === undefined) {
      statement = database.prepare(
        `insert into request_events (${columns.map((column) => `"${column}"`).join(', ')}) ` +
          `values (${columns.map((column) => (byteColumns.has(column) ? 'cast(? as text)' : '?')).join(', ')}) ` +
          'on conflict (id) do nothing',
      );
      eventInserts.set(key, statement);
    }
    return statement;
  };
  // Prepared at the first batch: the connection opens before the migrations have made the tables.
  let statements:
    | {
        debitInsert: BetterSqlite3.Statement;
        balanceUpdate: BetterSqlite3.Statement;
        spendUpsert: BetterSqlite3.Statement;
      }
    | undefined;
  const prepared = () => {
    statements ??= {
      debitInsert: database.prepare(
        'insert into billing_ledger (org_id, kind, amount_micros, event_id, project_id, key_id, created_at) ' +
          "values (?, 'debit', ?, ?, ?, ?, ?) on conflict (event_id) do nothing",
      ),
      balanceUpdate: database.prepare(
        'update billing_accounts set balance_micros = balance_micros - ?, updated_at = ? where org_id = ?',
      ),
      spendUpsert: database.prepare(
        'insert into budget_spend (scope, scope_id, period, period_start, org_id, spent_micros) ' +
          'values (?, ?, ?, ?, ?, ?) on conflict (scope, scope_id, period, period_start) ' +
          'do update set spent_micros = spent_micros + excluded.spent_micros',
      ),
    };
    return statements;
  };

  const applyCharges = (charges: readonly ChargeInput[], now: number): void => {
    const { balanceDelta, spend } = chargeTotals(charges);
    const { balanceUpdate, spendUpsert } = prepared();
    for (const [orgId, amount] of balanceDelta) balanceUpdate.run(amount, now, orgId);
    for (const row of spend) {
      spendUpsert.run(row.scope, row.scope_id, row.period, row.period_start, row.org_id, row.spent_micros);
    }
  };

  const write = database.transaction((batch: ChargingBatch): Totals => {
    const totals: Totals = { inserted: 0, rejected: [...batch.rejected] };
    const charged: ChargeInput[] = [];
    const refused: ChargeInput[] = [...batch.extraCharges];
    const statement = batch.rows.length === 0 ? undefined : eventInsertFor(batch.columns);
    for (const [index, row] of batch.rows.entries()) {
      const id = batch.ids[index] as string;
      const charge = batch.charges[index] ?? null;
      let changes: number;
      try {
        changes = (statement as BetterSqlite3.Statement).run(row).changes;
      } catch (error) {
        if (!isDataError(error)) throw error;
        totals.rejected.push({ id, reason: reasonOf(error) });
        if (charge) refused.push(chargeInputOf(id, charge));
        continue;
      }
      totals.inserted += changes;
      if (changes === 1 && charge) charged.push(chargeInputOf(id, charge));
    }
    for (const charge of refused) {
      const { changes } = prepared().debitInsert.run(
        charge.orgId,
        Math.round(charge.actualMicros),
        charge.eventId,
        charge.projectId,
        charge.keyId,
        charge.now,
      );
      if (changes === 1) charged.push(charge);
    }
    applyCharges(charged, batch.now);
    return totals;
  });

  return async (batch) => {
    const totals = await db.connection().execute(async () => {
      const startedMs = performance.now();
      let isError = true;
      try {
        // IMMEDIATE, like every Kysely transaction here (ImmediateSqliteDriver).
        const result = write.immediate(batch);
        isError = false;
        return result;
      } finally {
        onQuery?.({
          sql: 'insert-charging request_events',
          durationMs: performance.now() - startedMs,
          isError,
        });
      }
    });
    // Every organization with a charge in the batch, charged now or by an earlier try of it.
    const orgIds = new Set<string>();
    for (const charge of batch.charges) if (charge) orgIds.add(charge[0]);
    for (const charge of batch.extraCharges) orgIds.add(charge.orgId);
    const snapshots = [];
    for (const orgId of orgIds) snapshots.push(await ledgerSnapshotIn(db, orgId, batch.now));
    return { ...totals, snapshots };
  };
}
