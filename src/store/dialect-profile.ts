import type {
  ColumnDefinitionBuilder,
  Expression,
  Insertable,
  Kysely,
  SelectQueryBuilder,
  SqlBool,
} from 'kysely';
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

/** Tables whose rows carry a public `id` (unique in each of them). */
export type TableWithId = {
  [Table in keyof Database]: Database[Table] extends { id: string } ? Table : never;
}[keyof Database];

/**
 * Inserts `rows` into `table` in one transaction, skipping each row whose `id` is already stored
 * (replays are idempotent), and resolves to the number inserted. Every row has the first row's
 * columns; an `undefined` value is stored as NULL. A refused row rejects the call with the engine's
 * error and nothing of the batch is stored.
 */
export type NewRowWriter = <Table extends TableWithId>(
  table: Table,
  rows: readonly Insertable<Database[Table]>[],
) => Promise<number>;

/** An open database with the profile that goes with it. */
export interface OpenedDatabase {
  db: Kysely<Database>;
  profile: DialectProfile;
  /**
   * A cheaper way than Kysely to write batches, where the engine has one (SQLite: one prepared
   * statement run per row). Without it, repositories insert through Kysely.
   */
  writeNewRows?: NewRowWriter;
}
