import type BetterSqlite3 from 'better-sqlite3';
import type { Insertable, Kysely } from 'kysely';
import type { RequestEvent } from '../telemetry/request-event.js';
import { chargeOfEvent, ledgerSnapshotIn } from './billing-charges.js';
import { periodStartOf, spendRowsOf } from './budget-spend.js';
import type { InsertChargingResult } from './dialect-profile.js';
import type { QueryListener } from './query-log.js';
import type { ChargeInput } from './repositories.js';
import { reasonOf } from './request-event-batch.js';
import { toEventRow } from './request-event-rows.js';
import type { Database, RequestEventsTable } from './schema.js';

type EventRow = Insertable<RequestEventsTable>;

/** `BatchWriter.insertEventsCharging` on one SQLite connection (decision 0014). */
export type ChargingInsert = (
  events: readonly RequestEvent[],
  extraCharges: readonly ChargeInput[],
  now: number,
) => Promise<InsertChargingResult>;

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
          `values (${columns.map(() => '?').join(', ')}) on conflict (id) do nothing`,
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
    // Summed per payer and day first: the counters' periods (day, month, total) follow from the day.
    const balanceDelta = new Map<string, number>();
    const byPayerDay = new Map<string, { charge: ChargeInput; amount: number }>();
    for (const charge of charges) {
      const amount = Math.round(charge.actualMicros);
      balanceDelta.set(charge.orgId, (balanceDelta.get(charge.orgId) ?? 0) + amount);
      const day = periodStartOf('day', charge.now);
      const key = `${charge.orgId}\n${charge.projectId}\n${charge.keyId}\n${day}`;
      const group = byPayerDay.get(key);
      if (group) group.amount += amount;
      else byPayerDay.set(key, { charge, amount });
    }
    const spend = new Map<string, [string, string, string, number, string, number]>();
    for (const { charge, amount } of byPayerDay.values()) {
      for (const row of spendRowsOf(charge, amount, charge.now)) {
        const key = `${row.scope}\n${row.scope_id}\n${row.period}\n${row.period_start}`;
        const merged = spend.get(key);
        if (merged) merged[5] += amount;
        else spend.set(key, [row.scope, row.scope_id, row.period, row.period_start, row.org_id, amount]);
      }
    }
    const { balanceUpdate, spendUpsert } = prepared();
    for (const [orgId, amount] of balanceDelta) balanceUpdate.run(amount, now, orgId);
    for (const values of spend.values()) spendUpsert.run(values);
  };

  const write = database.transaction(
    (
      events: readonly RequestEvent[],
      rows: readonly (EventRow | Error)[],
      extraCharges: readonly ChargeInput[],
      now: number,
    ): Totals => {
      const totals: Totals = { inserted: 0, rejected: [] };
      const charged: ChargeInput[] = [];
      const refused: ChargeInput[] = [...extraCharges];
      let statement: BetterSqlite3.Statement | undefined;
      let columns: readonly string[] = [];
      for (const [index, event] of events.entries()) {
        const row = rows[index] as EventRow | Error;
        let changes = 0;
        try {
          if (row instanceof Error) throw row;
          if (statement === undefined) {
            columns = Object.keys(row);
            statement = eventInsertFor(columns);
          }
          const values = columns.map((column) => (row as Readonly<Record<string, unknown>>)[column]);
          changes = statement.run(values).changes;
        } catch (error) {
          if (!(row instanceof Error) && !isDataError(error)) throw error;
          totals.rejected.push({ id: event.id, reason: reasonOf(error) });
          const charge = chargeOfEvent(event);
          if (charge) refused.push(charge);
          continue;
        }
        totals.inserted += changes;
        if (changes === 0) continue;
        const charge = chargeOfEvent(event);
        if (charge) charged.push(charge);
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
      applyCharges(charged, now);
      return totals;
    },
  );

  return async (events, extraCharges, now) => {
    const rows = events.map((event): EventRow | Error => {
      try {
        return toEventRow(event);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    });
    const totals = await db.connection().execute(async () => {
      const startedMs = performance.now();
      let isError = true;
      try {
        // IMMEDIATE, like every Kysely transaction here (ImmediateSqliteDriver).
        const result = write.immediate(events, rows, extraCharges, now);
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
    for (const event of events) if (chargeOfEvent(event)) orgIds.add(event.org_id as string);
    for (const charge of extraCharges) orgIds.add(charge.orgId);
    const snapshots = [];
    for (const orgId of orgIds) snapshots.push(await ledgerSnapshotIn(db, orgId, now));
    return { ...totals, snapshots };
  };
}
