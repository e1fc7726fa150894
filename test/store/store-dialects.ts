import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { Clock } from '#src/clock.js';
import { type CreateStoreOptions, createStore, migrateStore } from '#src/store/create-store.js';
import type { Store } from '#src/store/repositories.js';

/** One isolated database: a temporary SQLite file, or a fresh PostgreSQL schema. */
export interface TestDatabase {
  /** What another thread needs to open its own store here (`createStore(url, storeOptions)`). */
  url: string;
  storeOptions: Pick<CreateStoreOptions, 'postgres'>;
  /** A new Store (a new connection or pool) on this database, migrated unless told otherwise. */
  open(options?: Omit<CreateStoreOptions, 'postgres'>): Promise<Store>;
  migrate(): Promise<string[]>;
  drop(): Promise<void>;
}

export interface StoreDialect {
  name: 'sqlite' | 'postgres';
  /**
   * Whether two stores may run in one thread. Not SQLite's: better-sqlite3 is synchronous, so a
   * second connection waiting for the write lock would block the thread holding it.
   */
  allowsStoresPerThread: boolean;
  createDatabase(): Promise<TestDatabase>;
}

const sqlite: StoreDialect = {
  name: 'sqlite',
  allowsStoresPerThread: false,
  async createDatabase() {
    const directory = mkdtempSync(join(tmpdir(), 'mgw-store-'));
    // A subdirectory that does not exist yet: createStore must create it.
    const url = `sqlite:${join(directory, 'data', 'maniac.db')}`;
    return {
      url,
      storeOptions: {},
      open: (options) => createStore(url, options),
      migrate: () => migrateStore(url),
      async drop() {
        rmSync(directory, { recursive: true, force: true });
      },
    };
  },
};

function postgres(url: string): StoreDialect {
  return {
    name: 'postgres',
    allowsStoresPerThread: true,
    async createDatabase() {
      const schema = `mgw_test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`create schema ${schema}`);
      } finally {
        await admin.end();
      }
      const postgresOptions = { schema, poolMax: 10 };
      return {
        url,
        storeOptions: { postgres: postgresOptions },
        open: (options) => createStore(url, { ...options, postgres: postgresOptions }),
        migrate: () => migrateStore(url, { postgres: postgresOptions }),
        async drop() {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            await client.query(`drop schema if exists ${schema} cascade`);
          } finally {
            await client.end();
          }
        },
      };
    },
  };
}

/** SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set (always in CI). */
export const dialects: StoreDialect[] = [
  sqlite,
  ...(process.env.TEST_DATABASE_URL ? [postgres(process.env.TEST_DATABASE_URL)] : []),
];

/** A clock the tests move by hand. */
export class TestClock implements Clock {
  constructor(public nowMs = Date.UTC(2025, 5, 15, 12, 0, 0)) {}
  now(): number {
    return this.nowMs;
  }
  monotonic(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface StoreFixture {
  readonly store: Store;
  readonly database: TestDatabase;
  readonly clock: TestClock;
}

/** One database and store per dialect per test file, created before and dropped after its tests. */
export function useStore(dialect: StoreDialect): StoreFixture {
  const clock = new TestClock();
  let store: Store | undefined;
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await dialect.createDatabase();
    store = await database.open({ clock });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  return {
    clock,
    get store() {
      if (store === undefined) throw new Error('The store is opened in beforeAll.');
      return store;
    },
    get database() {
      if (database === undefined) throw new Error('The database is created in beforeAll.');
      return database;
    },
  };
}

let counter = 0;
/** A name no other test in this process uses. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString('hex')}`;
}
