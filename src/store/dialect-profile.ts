import type { ColumnDefinitionBuilder, Expression, Kysely, SelectQueryBuilder, SqlBool } from 'kysely';
import type { RequestEvent } from '../telemetry/request-event.js';
import type {
  ChargeInput,
  ChargeResult,
  InsertChargingResult,
  InsertManyResult,
  LedgerSnapshot,
} from './repositories.js';

export type { InsertChargingResult };

import type { Database } from './schema.js';

/**
 * Everything that differs between SQLite and PostgreSQL, implemented once in sqlite.ts and once in
 * postgres.ts. Migrations and repositories are written once and call these; no query branches on
 * the engine.
 */
export interface DialectProfile {
  readonly name: 'sqlite' | 'postgres';
  /** Type of a table's surrogate `pk` column (`integer` is SQLite's rowid alias). */
  readonly rowIdType: 'integer' | 'bigint';
  /** Makes `pk` database-generated: the rowid on SQLite, an identity column on PostgreSQL. */
  rowId(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** `text` on SQLite, `jsonb` on PostgreSQL. */
  readonly jsonType: 'text' | 'jsonb';
  /** Bound parameters one statement may carry; multi-row inserts are chunked below it. */
  readonly maxParameters: number;
  /**
   * `FOR UPDATE` where the engine has row locks. SQLite needs none: every transaction there begins
   * `IMMEDIATE`, taking the database's write lock before its first read.
   */
  lockRows<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /** `FOR UPDATE SKIP LOCKED` where the engine has row locks (concurrent job claimers). */
  lockRowsSkipLocked<DB, TB extends keyof DB, O>(
    query: SelectQueryBuilder<DB, TB, O>,
  ): SelectQueryBuilder<DB, TB, O>;
  /** The JSON array in `column` (a reference such as `tags`) contains every one of `values`. */
  jsonArrayContainsAll(column: string, values: readonly string[]): Expression<SqlBool>;
  /** A unique or primary-key constraint rejected the statement. */
  isUniqueViolation(error: unknown): boolean;
  /**
   * The statement's data was refused (a constraint, a value out of range, a limit), as opposed to
   * the database being unreachable or busy: retrying the same rows can never succeed.
   */
  isDataError(error: unknown): boolean;
  /**
   * The schema unqualified names resolve to, where the engine has schemas. The migrator must be told:
   * otherwise it takes a `kysely_migration` table in any other schema of the database for its own.
   */
  currentSchema(db: Kysely<Database>): Promise<string | undefined>;
}

/** `billing.chargeMany`'s answer: each charge's result and a fresh snapshot of every organization charged. */
export interface ChargeManyResult {
  results: ChargeResult[];
  snapshots: LedgerSnapshot[];
}

/**
 * The request log's two batch writes, where the engine runs them away from the caller (SQLite: on a
 * writer thread with its own connection, decision 0013), with the semantics of
 * `requestEvents.insertMany` and `billing.chargeMany`. Each is one transaction. Neither may be awaited
 * inside a transaction of the store's own connection: the write waits for that transaction to end.
 */
export interface BatchWriter {
  insertEvents(events: readonly RequestEvent[]): Promise<InsertManyResult>;
  chargeMany(inputs: readonly ChargeInput[], now: number): Promise<ChargeManyResult>;
  /**
   * `requestEvents.insertManyCharging` in one transaction (decision 0014); `extraCharges` are charges
   * of events refused before they reached the writer, charged through debit rows.
   */
  insertEventsCharging(
    events: readonly RequestEvent[],
    extraCharges: readonly ChargeInput[],
    now: number,
  ): Promise<InsertChargingResult>;
  /** Lets the writes already asked for finish, then ends the writer. */
  close(): Promise<void>;
}

/** An open database with the profile that goes with it. */
export interface OpenedDatabase {
  db: Kysely<Database>;
  profile: DialectProfile;
  /** Where the engine has one (SQLite); without it, repositories write batches through `db`. */
  batchWriter?: BatchWriter;
  /** Ends the batch writer (its writes in flight first), then closes the connection or pool. */
  close(): Promise<void>;
}
