import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type SqlBool,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import type { DialectProfile, NewRowWriter, OpenedDatabase } from './dialect-profile.js';
import { kyselyLogOf, type QueryListener } from './query-log.js';
import type { Database } from './schema.js';

const busyTimeoutMs = 5_000;

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

/**
 * Kysely begins SQLite transactions with a plain (deferred) `BEGIN`, which takes the write lock only
 * at the first write: two transactions that both read first can then fail with SQLITE_BUSY instead
 * of waiting. `BEGIN IMMEDIATE` takes it up front, so a read-check-write transaction (billing) is
 * atomic across processes and waits up to `busy_timeout` for the lock.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
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

/** Statements kept prepared, by SQL text; far more than the gateway's distinct queries. */
const statementCacheSize = 512;

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs more than running the small
 * statements of the request path, so prepared statements are kept and reused by SQL text.
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
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

/**
 * Opens (creating its directory) an SQLite file in WAL mode: readers never block the writer,
 * `synchronous=NORMAL` (durable at checkpoints, safe against corruption), foreign keys enforced.
 */
export function openSqlite(databaseUrl: string, onQuery?: QueryListener): OpenedDatabase {
  const path = sqlitePathOf(databaseUrl);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  database.pragma('journal_mode = WAL');
  database.pragma(`busy_timeout = ${busyTimeoutMs}`);
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(database) }),
    ...kyselyLogOf(onQuery),
  });
  return { db, profile: sqliteProfile, writeNewRows: sqliteNewRowWriter(db, database, onQuery) };
}
