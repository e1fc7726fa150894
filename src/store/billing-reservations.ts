import { type Kysely, sql } from 'kysely';
import { addSpend, applicableBudgets, withSpend } from './budget-spend.js';
import type { DialectProfile } from './dialect-profile.js';
import { toText } from './json-column.js';
import type { BillingRepository, ReserveInput, SettleInput, SettleResult } from './repositories.js';
import type { Database } from './schema.js';

const open = sql.lit<'open'>('open');

/**
 * Locks the organization's billing account row for the rest of the transaction (PostgreSQL: `FOR
 * UPDATE`; SQLite: the transaction already holds the write lock). Every reserve and settle of one
 * organization takes this lock first, so their read-check-write sequences never interleave, whether
 * they run in one process or several. Creates the row for organizations made without one.
 */
export async function lockAccount(
  trx: Kysely<Database>,
  profile: DialectProfile,
  orgId: string,
  now: number,
) {
  const select = () =>
    profile
      .lockRows(
        trx
          .selectFrom('billing_accounts')
          .select(['balance_micros', 'configured_at'])
          .where('org_id', '=', orgId),
      )
      .executeTakeFirst();
  const account = await select();
  if (account !== undefined) return account;
  const organization = await trx
    .selectFrom('organizations')
    .select('id')
    .where('id', '=', orgId)
    .executeTakeFirst();
  if (organization === undefined) return undefined;
  await trx
    .insertInto('billing_accounts')
    .values({ org_id: orgId, balance_micros: 0, configured_at: null, updated_at: now })
    .onConflict((conflict) => conflict.column('org_id').doNothing())
    .execute();
  return select();
}

/** Open reservations of the organization, and of the request's project and key within it. */
export async function openReservations(
  trx: Kysely<Database>,
  target: { orgId: string; projectId: string | null; keyId: string | null },
) {
  const row = await trx
    .selectFrom('billing_reservations')
    .select((eb) => [
      eb.fn.coalesce(eb.fn.sum<number>('amount_micros'), eb.lit(0)).as('org'),
      eb.fn
        .coalesce(
          eb.fn.sum<number>(
            eb
              .case()
              .when('project_id', '=', target.projectId)
              .then(eb.ref('amount_micros'))
              .else(eb.lit(0))
              .end(),
          ),
          eb.lit(0),
        )
        .as('project'),
      eb.fn
        .coalesce(
          eb.fn.sum<number>(
            eb.case().when('key_id', '=', target.keyId).then(eb.ref('amount_micros')).else(eb.lit(0)).end(),
          ),
          eb.lit(0),
        )
        .as('key'),
    ])
    // A literal (not a parameter) lets SQLite prove the partial index `status = 'open'` applies.
    .where('org_id', '=', target.orgId)
    .where('status', '=', open)
    .executeTakeFirstOrThrow();
  return { org: Number(row.org), project: Number(row.project), key: Number(row.key) };
}

/** One settlement inside the caller's transaction: debit, budget spend, reservation closed. */
async function settleIn(
  trx: Kysely<Database>,
  profile: DialectProfile,
  request: SettleInput,
): Promise<SettleResult> {
  if (!Number.isFinite(request.actualMicros)) return 'invalid_amount' as const;
  const input = {
    ...request,
    eventId: toText(request.eventId),
    actualMicros: Math.round(request.actualMicros),
  };
  const found = await trx
    .selectFrom('billing_reservations')
    .select('org_id')
    .where('id', '=', input.reservationId)
    .executeTakeFirst();
  if (found === undefined) return 'unknown_reservation' as const;
  const account = await lockAccount(trx, profile, found.org_id, input.now);
  // Read again under the lock: another event may have settled it meanwhile.
  const reservation = await trx
    .selectFrom('billing_reservations')
    .select(['pk', 'org_id', 'project_id', 'key_id', 'status'])
    .where('id', '=', input.reservationId)
    .executeTakeFirstOrThrow();
  if (reservation.status === 'settled') return 'duplicate' as const;
  const debit = await trx
    .insertInto('billing_ledger')
    .values({
      org_id: reservation.org_id,
      kind: 'debit',
      amount_micros: input.actualMicros,
      event_id: input.eventId,
      reservation_id: input.reservationId,
      project_id: reservation.project_id,
      key_id: reservation.key_id,
      note: null,
      created_at: input.now,
    })
    .onConflict((conflict) => conflict.column('event_id').doNothing())
    .executeTakeFirst();
  if (Number(debit.numInsertedOrUpdatedRows ?? 0) === 0) return 'duplicate' as const;
  if (account !== undefined && input.actualMicros !== 0) {
    await trx
      .updateTable('billing_accounts')
      .set((eb) => ({
        balance_micros: eb('balance_micros', '-', input.actualMicros),
        updated_at: input.now,
      }))
      .where('org_id', '=', reservation.org_id)
      .execute();
  }
  if (input.actualMicros !== 0) {
    const target = {
      orgId: reservation.org_id,
      projectId: reservation.project_id,
      keyId: reservation.key_id,
    };
    await addSpend(trx, target, input.actualMicros, input.now);
  }
  await trx
    .updateTable('billing_reservations')
    .set({ status: 'settled', actual_micros: input.actualMicros, closed_at: input.now })
    .where('pk', '=', reservation.pk)
    .execute();
  return 'settled' as const;
}

type ReservationMethods = Pick<
  BillingRepository,
  'reserve' | 'settle' | 'settleMany' | 'release' | 'releaseStale'
>;

export function createReservationMethods(db: Kysely<Database>, profile: DialectProfile): ReservationMethods {
  return {
    async reserve(request: ReserveInput) {
      if (!Number.isFinite(request.amountMicros))
        throw new RangeError(`Cannot reserve ${request.amountMicros}.`);
      const input = { ...request, amountMicros: Math.ceil(request.amountMicros) };
      return db.transaction().execute(async (trx) => {
        const account = await lockAccount(trx, profile, input.orgId, input.now);
        if (account === undefined) return { ok: false, code: 'billing_not_configured' } as const;
        const existing = await trx
          .selectFrom('billing_reservations')
          .select('id')
          .where('id', '=', input.reservationId)
          .executeTakeFirst();
        if (existing !== undefined) return { ok: true } as const;
        const reserved = await openReservations(trx, input);
        if (input.prepaid) {
          if (account.configured_at === null) return { ok: false, code: 'billing_not_configured' } as const;
          const availableMicros = account.balance_micros - reserved.org;
          if (input.amountMicros > availableMicros) {
            return { ok: false, code: 'insufficient_credits', availableMicros } as const;
          }
        }
        const budgets = await withSpend(trx, await applicableBudgets(trx, input), input.now);
        for (const budget of budgets) {
          if (budget.spentMicros + reserved[budget.scope] + input.amountMicros > budget.limitMicros) {
            return { ok: false, code: 'budget_exceeded', budget } as const;
          }
        }
        await trx
          .insertInto('billing_reservations')
          .values({
            id: input.reservationId,
            org_id: input.orgId,
            project_id: input.projectId,
            key_id: input.keyId,
            amount_micros: input.amountMicros,
            status: 'open',
            actual_micros: null,
            created_at: input.now,
            closed_at: null,
          })
          .execute();
        return { ok: true } as const;
      });
    },

    settle: (request) => db.transaction().execute((trx) => settleIn(trx, profile, request)),

    /**
     * Several settlements in one transaction (the request log writes them per batch). Should two
     * instances' batches deadlock on PostgreSQL, one batch fails and is retried; settling is
     * idempotent by event id, so nothing is charged twice.
     */
    async settleMany(requests) {
      if (requests.length === 0) return [];
      return db.transaction().execute(async (trx) => {
        const results: SettleResult[] = [];
        for (const request of requests) results.push(await settleIn(trx, profile, request));
        return results;
      });
    },

    async release(reservationId, now) {
      const result = await db
        .updateTable('billing_reservations')
        .set({ status: 'released', closed_at: now })
        .where('id', '=', reservationId)
        .where('status', '=', open)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async releaseStale(olderThan, now) {
      const result = await db
        .updateTable('billing_reservations')
        .set({ status: 'released', closed_at: now })
        .where('status', '=', open)
        .where('created_at', '<', olderThan)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}

export function assertMicros(amount: number): void {
  if (!Number.isSafeInteger(amount))
    throw new RangeError(`Money must be whole micro-dollars, got ${amount}.`);
}
