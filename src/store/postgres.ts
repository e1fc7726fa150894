import { Kysely, PostgresDialect, type SqlBool, sql } from 'kysely';
import pg from 'pg';
import type { DialectProfile, OpenedDatabase } from './dialect-profile.js';
import { kyselyLogOf, type QueryListener } from './query-log.js';
import type { Database } from './schema.js';

export interface PostgresOptions {
  /** Unquoted identifier put first on the `search_path` (tests isolate themselves this way). */
  schema?: string;
  /** Pool size (default 10). */
  poolMax?: number;
}

const oids = { int8: 20, numeric: 1700, json: 114, jsonb: 3802 } as const;

/**
 * `pg` returns bigint and numeric as strings (they may exceed 2^53) and parses JSON. Our bigints are
 * ms timestamps, micro-dollars and counts, far below 2^53, and SUM over bigint is numeric: both come
 * back as numbers. JSON stays text so both engines hand repositories the same thing to parse.
 */
const getTypeParser: typeof pg.types.getTypeParser = (id, format) => {
  if (id === oids.int8 || id === oids.numeric) return Number;
  if (id === oids.json || id === oids.jsonb) return (value: string) => value;
  return pg.types.getTypeParser(id, format);
};

export const postgresProfile: DialectProfile = {
  name: 'postgres',
  rowIdType: 'bigint',
  rowId: (column) => column.primaryKey().generatedAlwaysAsIdentity(),
  jsonType: 'jsonb',
  maxParameters: 65_000,
  lockRows: (query) => query.forUpdate(),
  lockRowsSkipLocked: (query) => query.forUpdate().skipLocked(),
  jsonArrayContainsAll(column, values) {
    return sql<SqlBool>`${sql.ref(column)} @> cast(${JSON.stringify(values)} as jsonb)`;
  },
  isUniqueViolation(error) {
    return (error as { code?: unknown } | null)?.code === '23505';
  },
  isDataError(error) {
    // SQLSTATE classes 22 (data exception), 23 (integrity constraint), 54 (program limit, e.g. an
    // index entry over the btree maximum).
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^(22|23|54)/.test(code);
  },
  async currentSchema(db) {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    return rows[0]?.schema;
  },
};

export function openPostgres(
  databaseUrl: string,
  options: PostgresOptions = {},
  onQuery?: QueryListener,
): OpenedDatabase {
  const schema = options.schema;
  if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`Invalid PostgreSQL schema name '${schema}'.`);
  }
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolMax ?? 10,
    // A blackholed database must fail the request (503), not hang it.
    connectionTimeoutMillis: 5_000,
    types: { getTypeParser },
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that would end the
  // process. The next query gets a fresh client or fails, and its caller handles that.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...kyselyLogOf(onQuery) });
  return { db, profile: postgresProfile, close: () => db.destroy() };
}
