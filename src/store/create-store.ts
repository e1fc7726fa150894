import { Migrator, sql } from 'kysely';
import { type Clock, systemClock } from '../clock.js';
import { createApiKeyRepository } from './api-key-repository.js';
import { createBillingRepository } from './billing-repository.js';
import { createContainerRepository } from './container-repository.js';
import type { OpenedDatabase } from './dialect-profile.js';
import { migrationsFor } from './migrations/index.js';
import { createOrganizationRepository } from './organization-repository.js';
import type { PostgresOptions } from './postgres.js';
import { createProjectRepository } from './project-repository.js';
import type { QueryListener } from './query-log.js';
import { createRegisteredCompletionRepository } from './registered-completion-repository.js';
import type { Store } from './repositories.js';
import { createRequestEventRepository } from './request-event-repository.js';
import { createResponseRepository } from './response-repository.js';
import type { StoreContext } from './store-context.js';

export interface CreateStoreOptions {
  /** Default times (`createdAt`, `revokedAt`, …); methods that take `now` use that instead. */
  clock?: Clock;
  /** Apply pending migrations first (default true). */
  migrate?: boolean;
  postgres?: PostgresOptions;
  onQuery?: QueryListener;
}

/**
 * `sqlite:<path>` (or `sqlite::memory:`) or `postgres://…` / `postgresql://…`. The error names only
 * the scheme: the URL may hold a password. Each dialect's module (better-sqlite3's binding, `pg`) is
 * loaded only when its URL is used, which keeps the other one out of start-up.
 */
async function openDatabase(databaseUrl: string, options: CreateStoreOptions): Promise<OpenedDatabase> {
  if (databaseUrl.startsWith('sqlite:')) {
    const { openSqlite } = await import('./sqlite.js');
    return openSqlite(databaseUrl, options.onQuery);
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const { openPostgres } = await import('./postgres.js');
    return openPostgres(databaseUrl, options.postgres, options.onQuery);
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(databaseUrl)?.[0] ?? 'no scheme';
  throw new Error(`Unsupported database URL (${scheme}); use sqlite:<path> or postgres://…`);
}

/** Applies pending migrations in order; returns the names applied now (none when up to date). */
async function runMigrations({ db, profile }: OpenedDatabase): Promise<string[]> {
  const migrationTableSchema = await profile.currentSchema(db);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrationsFor(profile) },
    ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? 'the migration lock';
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Database migration failed at ${failed}: ${reason}`, { cause: error });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

/** Opens the database named by `storage.databaseUrl`, migrates it (unless told not to) and returns the repositories. */
export async function createStore(databaseUrl: string, options: CreateStoreOptions = {}): Promise<Store> {
  const opened = await openDatabase(databaseUrl, options);
  if (options.migrate !== false) {
    try {
      await runMigrations(opened);
    } catch (error) {
      await opened.close();
      throw error;
    }
  }
  const context: StoreContext = { ...opened, clock: options.clock ?? systemClock };
  return {
    dialect: opened.profile.name,
    organizations: createOrganizationRepository(context),
    projects: createProjectRepository(context),
    apiKeys: createApiKeyRepository(context),
    billing: createBillingRepository(context),
    requestEvents: createRequestEventRepository(context),
    registeredCompletions: createRegisteredCompletionRepository(context),
    containers: createContainerRepository(context),
    responses: createResponseRepository(context),
    async ping() {
      await sql`select 1`.execute(opened.db);
    },
    close: () => opened.close(),
  };
}

/** `maniac-gateway migrate`: applies pending migrations and closes; returns the names applied. */
export async function migrateStore(
  databaseUrl: string,
  options: Pick<CreateStoreOptions, 'postgres' | 'onQuery'> = {},
): Promise<string[]> {
  const opened = await openDatabase(databaseUrl, options);
  try {
    return await runMigrations(opened);
  } finally {
    await opened.close();
  }
}
