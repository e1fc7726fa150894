import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type Insertable,
  Kysely,
  type SqlBool,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import { chargeMany } from './billing-charges.js';
import type { BatchWriter, DialectProfile, OpenedDatabase } from './dialect-profile.js';
import { kyselyLogOf, type QueryListener } from './query-log.js';
import { insertEventBatch } from './request-event-batch.js';
import type { Database } from './schema.js';
import { type ChargingInsert, sqliteChargingInsert, toChargingBatch } from './sqlite-charging-insert.js';
import { SqliteWriterThread } from './sqlite-writer.js';
import { WriteGate } from './write-gate.js';

const busyTimeoutMs = 5_000;
/**
 * The WAL size (in pages, 16 MB at 4 KiB) past which the writer thread checkpoints; both connections
 * turn SQLite's own autocheckpoint off (decision 0013). Four times SQLite's default: the request
 * log's index pages are rewritten by every batch, and a checkpoint copies each page once however
 * often it changed, so checkpoint CPU per event halved (15.7 → 7.8 µs, `bench/store-insert.ts
 * --charges`, 30 000 events); 10 000 pages saved little more and made single checkpoints long.
 */
export const walCheckpointPages = 4_000;

/**
 * `sqlite:./data/maniac.db`, `sqlite:///absolute/path.db`, `sqlite:/absolute/path.db` or
 * `sqlite::memory:` → the path better-sqlite3 opens.
 */
export function sqlitePathOf(databaseUrl: string): string {
  const rest = databaseUrl.replace(/^sqlite:/, '');
  if (rest === ':memory:') return rest;
  const path = rest.startsWith('//') ? rest.slice(2) : rest;
  if (path === '') throw new Error(`No file in SQLite URL '${databaseUrl}'.`);
  return resolve(path);
}

/** What the main thread's driver needs to wait for the writer thread (`WriteGate`). */
interface WriteGating {
  gate: WriteGate;
  /** Whether the statement only reads (SQLite knows it once the statement is prepared). */
  isReadOnly(sql: string): boolean;
}

/**
 * Kysely begins SQLite transactions with a plain (deferred) `BEGIN`, which takes the write lock only
 * at the first write: two transactions that both read first can then fail with SQLITE_BUSY instead
 * of waiting. `BEGIN IMMEDIATE` takes it up front, so a read-check-write transaction (billing) is
 * atomic across processes and waits up to `busy_timeout` for the lock.
 *
 * With a write gate (the main thread's connection), a transaction and every statement outside one
 * that writes first wait for the gate, so they never meet the writer thread's lock in SQLite's busy
 * handler, which would block the event loop. Reads do not wait for the gate (in WAL mode they never
 * wait for a writer), but Kysely hands the one connection to one user at a time, so a read queued
 * behind a write that waits for the gate waits with it, as every statement waited behind the batch
 * when it was written on this thread.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #gating: WriteGating | undefined;
  #gated: DatabaseConnection | undefined;
  #releaseTransaction: (() => void) | undefined;

  constructor(config: SqliteDialectConfig, gating: WriteGating | undefined) {
    super(config);
    this.#gating = gating;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    const gating = this.#gating;
    if (gating === undefined) return connection;
    this.#gated ??= {
      executeQuery: (compiledQuery) => {
        if (this.#releaseTransaction !== undefined || gating.isReadOnly(compiledQuery.sql)) {
          return connection.executeQuery(compiledQuery);
        }
        return gating.gate.run(() => connection.executeQuery(compiledQuery));
      },
      streamQuery: (compiledQuery, chunkSize) => connection.streamQuery(compiledQuery, chunkSize),
    };
    return this.#gated;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#gating !== undefined) this.#releaseTransaction = await this.#gating.gate.acquire();
    try {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    } catch (error) {
      this.#endTransaction();
      throw error;
    }
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.commitTransaction(connection);
    } finally {
      this.#endTransaction();
    }
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.rollbackTransaction(connection);
    } finally {
      this.#endTransaction();
    }
  }

  #endTransaction(): void {
    const release = this.#releaseTransaction;
    this.#releaseTransaction = undefined;
    release?.();
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #gating: WriteGating | undefined;

  constructor(config: SqliteDialectConfig, gating: WriteGating | undefined) {
    super(config);
    this.#config = config;
    this.#gating = gating;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#gating);
  }
}

export const sqliteProfile: DialectProfile = {
  name: 'sqlite',
  rowIdType: 'integer',
  // `integer primary key` (without AUTOINCREMENT) aliases the rowid: the cheapest key SQLite has.
  rowId: (column) => column.primaryKey(),
  jsonType: 'text',
  // SQLITE_MAX_VARIABLE_NUMBER is 32 766 since SQLite 3.32.
  maxParameters: 32_000,
  lockRows: (query) => query,
  lockRowsSkipLocked: (query) => query,
  jsonArrayContainsAll(column, values) {
    if (values.length === 0) return sql<SqlBool>`1 = 1`;
    const each = values.map(
      (value) => sql`exists (select 1 from json_each(${sql.ref(column)}) where value = ${value})`,
    );
    return sql<SqlBool>`(${sql.join(each, sql` and `)})`;
  },
  isUniqueViolation(error) {
    const code = (error as { code?: unknown } | null)?.code;
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
  isDataError(error) {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code);
  },
  currentSchema: async () => undefined,
};

interface StatementCache extends SqliteDatabase {
  prepare(sql: string): BetterSqlite3.Statement;
}

/** Statements kept prepared, by SQL text; far more than the gateway's distinct queries. */
const statementCacheSize = 512;

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs more than running the small
 * statements of the request path, so prepared statements are kept and reused by SQL text.
 */
function withStatementCache(database: BetterSqlite3.Database): StatementCache {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (statements.size >= statementCacheSize) statements.clear();
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

/** Tables whose rows carry a public `id` (unique in each of them). */
type TableWithId = {
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

function quoted(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * Batches go to better-sqlite3 itself: one single-row `insert … on conflict (id) do nothing`, prepared
 * once per table and column list, run once per row inside one transaction (`changes` is 0 for a row
 * already stored). Through Kysely, every batch built, compiled and bound a new multi-row statement
 * whose text changed with the row count: about 15 % of the gateway's CPU went there. Values are bound
 * as the rows hold them, positionally, which is what Kysely's driver does too.
 *
 * better-sqlite3 has one connection, and Kysely uses it as well. Kysely's driver hands it to one user
 * at a time (a mutex), and a Kysely transaction keeps it from BEGIN to COMMIT across its awaits. So
 * the raw transaction runs inside `db.connection().execute(…)`: it waits for that same mutex, and
 * then can neither run inside an open Kysely transaction (nesting as a savepoint, committed or rolled
 * back with someone else's work) nor let a Kysely statement in between its rows. The work inside is
 * synchronous, so the connection is held for exactly the batch. `onQuery` hears one event per batch.
 */
function sqliteNewRowWriter(
  db: Kysely<Database>,
  database: BetterSqlite3.Database,
  onQuery: QueryListener | undefined,
): NewRowWriter {
  const statements = new Map<string, BetterSqlite3.Statement>();
  const insertEach = database.transaction(
    (statement: BetterSqlite3.Statement, columns: readonly string[], rows: readonly object[]): number => {
      let inserted = 0;
      for (const row of rows) {
        const values = columns.map((column) => (row as Readonly<Record<string, unknown>>)[column]);
        inserted += statement.run(values).changes;
      }
      return inserted;
    },
  );
  const statementFor = (table: string, columns: readonly string[]): BetterSqlite3.Statement => {
    const key = `${table}(${columns.join(',')})`;
    let statement = statements.get(key);
    if (statement === undefined) {
      statement = database.prepare(
        `insert into ${quoted(table)} (${columns.map(quoted).join(', ')}) ` +
          `values (${columns.map(() => '?').join(', ')}) on conflict (${quoted('id')}) do nothing`,
      );
      statements.set(key, statement);
    }
    return statement;
  };
  return (table, rows) => {
    const first = rows[0];
    if (first === undefined) return Promise.resolve(0);
    const columns = Object.keys(first);
    return db.connection().execute(async () => {
      const statement = statementFor(table, columns);
      const startedMs = performance.now();
      let isError = true;
      try {
        // IMMEDIATE, like every Kysely transaction here (ImmediateSqliteDriver).
        const inserted = insertEach.immediate(statement, columns, rows);
        isError = false;
        return inserted;
      } finally {
        onQuery?.({ sql: statement.source, durationMs: performance.now() - startedMs, isError });
      }
    });
  };
}

/** One connection to the file, as both threads open it. */
export interface SqliteConnection {
  db: Kysely<Database>;
  database: BetterSqlite3.Database;
  writeNewRows: NewRowWriter;
  /** The request log's batch with its charges, in one transaction (decision 0014). */
  insertCharging: ChargingInsert;
  /**
   * Closes the connection. Kysely's `destroy()` alone leaves it open when Kysely never ran a query
   * (it starts its driver at the first one), and an open connection keeps the WAL from being
   * checkpointed and removed when the last one closes.
   */
  close(): Promise<void>;
}

/**
 * Opens a connection in WAL mode: readers never block the writer, `synchronous=NORMAL` (durable at
 * checkpoints, safe against corruption), foreign keys enforced. No connection checkpoints on commit
 * (`wal_autocheckpoint=0`): the writer thread does it (`checkpointIfLarge`), and closing the last
 * connection checkpoints what is left. A WAL restarted after a checkpoint is cut back to the
 * threshold's size (`journal_size_limit`), so its file size says how far it has grown since.
 */
export function openSqliteConnection(
  path: string,
  options: { onQuery?: QueryListener | undefined; writeGate?: WriteGate | undefined } = {},
): SqliteConnection {
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  database.pragma(`busy_timeout = ${busyTimeoutMs}`);
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('wal_autocheckpoint = 0');
  database.pragma(`journal_size_limit = ${walLimitBytes(database)}`);
  const statements = withStatementCache(database);
  const gating =
    options.writeGate === undefined
      ? undefined
      : { gate: options.writeGate, isReadOnly: (sql: string) => statements.prepare(sql).readonly };
  const db = new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database: statements }, gating),
    ...kyselyLogOf(options.onQuery),
  });
  return {
    db,
    database,
    writeNewRows: sqliteNewRowWriter(db, database, options.onQuery),
    insertCharging: sqliteChargingInsert(db, database, sqliteProfile.isDataError, options.onQuery),
    async close() {
      await db.destroy();
      if (database.open) database.close();
    },
  };
}

/** Each connection's page size, read once: the writer thread asks after every batch. */
const pageSizes = new WeakMap<BetterSqlite3.Database, number>();

function walLimitBytes(database: BetterSqlite3.Database): number {
  let pageSize = pageSizes.get(database);
  if (pageSize === undefined) {
    pageSize = Number(database.pragma('page_size', { simple: true }));
    pageSizes.set(database, pageSize);
  }
  return walCheckpointPages * pageSize;
}

/**
 * A passive checkpoint (it waits for no reader or writer) once the WAL has grown past the threshold.
 * Run by the writer thread after its writes; a checkpoint that fails or is cut short leaves the rest
 * to the next one.
 */
export function checkpointIfLarge(database: BetterSqlite3.Database, walPath: string): void {
  let walBytes: number;
  try {
    walBytes = statSync(walPath).size;
  } catch {
    return;
  }
  if (walBytes <= walLimitBytes(database)) return;
  try {
    database.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // SQLITE_BUSY or I/O: the WAL only grows until the next write's checkpoint.
  }
}

/** The request log's batch writes on `connection`, in the calling thread. */
export function sqliteBatchWriter({ db, writeNewRows, insertCharging }: SqliteConnection): BatchWriter {
  const rowWriter = {
    writeBatch: (rows: Insertable<Database['request_events']>[]) => writeNewRows('request_events', rows),
    writeOne: (row: Insertable<Database['request_events']>) => writeNewRows('request_events', [row]),
  };
  return {
    insertEvents: (events) => insertEventBatch(events, rowWriter, sqliteProfile.isDataError),
    chargeMany: (inputs, now) => chargeMany(db, sqliteProfile, inputs, now),
    insertEventsCharging: (events, extraCharges, now) =>
      insertCharging(toChargingBatch(events, extraCharges, now)),
    close: async () => {},
  };
}

/**
 * Opens (creating its directory) an SQLite file for the main thread: its reads and its other writes
 * go through this connection, the request log's batches and their charges through a writer thread
 * with a connection of its own (decision 0013), started at the first such write. An in-memory
 * database cannot be shared with a second connection; there the batches are written in this thread.
 */
export function openSqlite(
  databaseUrl: string,
  onQuery?: QueryListener,
): OpenedDatabase & { batchWriter: BatchWriter } {
  const path = sqlitePathOf(databaseUrl);
  if (path === ':memory:') {
    const connection = openSqliteConnection(path, { onQuery });
    return {
      db: connection.db,
      profile: sqliteProfile,
      batchWriter: sqliteBatchWriter(connection),
      close: () => connection.close(),
    };
  }
  mkdirSync(dirname(path), { recursive: true });
  const writeGate = new WriteGate();
  const connection = openSqliteConnection(path, { onQuery, writeGate });
  const batchWriter = new SqliteWriterThread({ path, writeGate, onQuery });
  return {
    db: connection.db,
    profile: sqliteProfile,
    batchWriter,
    async close() {
      try {
        await batchWriter.close();
      } finally {
        await connection.close();
      }
    },
  };
}
