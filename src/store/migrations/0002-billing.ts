import { type Kysely, type SqlBool, sql } from 'kysely';
import type { DialectProfile } from '../dialect-profile.js';

/**
 * Balances, the credit/debit ledger, reservations and budgets (SPEC §8). The ledger and reservations
 * are written once per billed request, so they get an integer `pk`; they carry no foreign keys since
 * only billing code writes them, after locking the organization's (foreign-keyed) account row.
 */
export async function up(db: Kysely<unknown>, profile: DialectProfile): Promise<void> {
  await db.schema
    .createTable('billing_accounts')
    .addColumn('org_id', 'text', (column) =>
      column.primaryKey().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('balance_micros', 'bigint', (column) => column.notNull().defaultTo(0))
    .addColumn('configured_at', 'bigint')
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('billing_ledger')
    .addColumn('pk', profile.rowIdType, (column) => profile.rowId(column))
    .addColumn('org_id', 'text', (column) => column.notNull())
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('amount_micros', 'bigint', (column) => column.notNull())
    .addColumn('event_id', 'text')
    .addColumn('reservation_id', 'text')
    .addColumn('project_id', 'text')
    .addColumn('key_id', 'text')
    .addColumn('note', 'text')
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .execute();
  // Settlement idempotency: one debit per event id (NULLs, i.e. credits, never collide).
  await db.schema
    .createIndex('billing_ledger_event')
    .on('billing_ledger')
    .column('event_id')
    .unique()
    .execute();
  await db.schema
    .createIndex('billing_ledger_org')
    .on('billing_ledger')
    .columns(['org_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('billing_reservations')
    .addColumn('pk', profile.rowIdType, (column) => profile.rowId(column))
    .addColumn('id', 'text', (column) => column.notNull().unique())
    .addColumn('org_id', 'text', (column) => column.notNull())
    .addColumn('project_id', 'text')
    .addColumn('key_id', 'text')
    .addColumn('amount_micros', 'bigint', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('actual_micros', 'bigint')
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('closed_at', 'bigint')
    .execute();
  // Only open reservations are ever summed: the partial index stays as small as the in-flight set.
  await db.schema
    .createIndex('billing_reservations_open')
    .on('billing_reservations')
    .columns(['org_id', 'created_at'])
    .where(sql<SqlBool>`status = 'open'`)
    .execute();

  await db.schema
    .createTable('budgets')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('org_id', 'text', (column) =>
      column.notNull().references('organizations.id').onDelete('cascade'),
    )
    .addColumn('scope', 'text', (column) => column.notNull())
    .addColumn('scope_id', 'text', (column) => column.notNull())
    .addColumn('period', 'text', (column) => column.notNull())
    .addColumn('limit_micros', 'bigint', (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .addUniqueConstraint('budgets_target_unique', ['scope', 'scope_id', 'period'])
    .execute();
  await db.schema.createIndex('budgets_org').on('budgets').column('org_id').execute();

  // Settled spend per scope and period, kept for every scope whether or not it has a budget yet, so
  // a budget set mid-month sees the month's spend.
  await db.schema
    .createTable('budget_spend')
    .addColumn('scope', 'text', (column) => column.notNull())
    .addColumn('scope_id', 'text', (column) => column.notNull())
    .addColumn('period', 'text', (column) => column.notNull())
    .addColumn('period_start', 'bigint', (column) => column.notNull())
    .addColumn('org_id', 'text', (column) => column.notNull())
    .addColumn('spent_micros', 'bigint', (column) => column.notNull())
    .addPrimaryKeyConstraint('budget_spend_pk', ['scope', 'scope_id', 'period', 'period_start'])
    .execute();
}
