import { chargeMany, ledgerSnapshotIn } from './billing-charges.js';
import { assertMicros, createReservationMethods, openReservations } from './billing-reservations.js';
import { withSpend } from './budget-spend.js';
import { type BalanceRecord, type BillingRepository, type BudgetScope, StoreError } from './repositories.js';
import type { StoreContext } from './store-context.js';
import { newStoredId } from './store-ids.js';

export function createBillingRepository({ db, profile, batchWriter }: StoreContext): BillingRepository {
  const balanceOf = async (trx: typeof db, orgId: string): Promise<BalanceRecord | undefined> => {
    const account = await trx
      .selectFrom('billing_accounts')
      .select(['balance_micros', 'configured_at'])
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (account === undefined) return undefined;
    const reserved = await openReservations(trx, { orgId, projectId: null, keyId: null });
    return {
      orgId,
      isConfigured: account.configured_at !== null,
      balanceMicros: account.balance_micros,
      reservedMicros: reserved.org,
      availableMicros: account.balance_micros - reserved.org,
    };
  };

  /** The organization a budget target belongs to, or `undefined` when the target does not exist. */
  const orgOfScope = async (
    trx: typeof db,
    scope: BudgetScope,
    scopeId: string,
  ): Promise<string | undefined> => {
    switch (scope) {
      case 'org':
        return (
          await trx.selectFrom('organizations').select('id').where('id', '=', scopeId).executeTakeFirst()
        )?.id;
      case 'project':
        return (
          await trx.selectFrom('projects').select('org_id').where('id', '=', scopeId).executeTakeFirst()
        )?.org_id;
      case 'key':
        return (
          (await trx.selectFrom('api_keys').select('org_id').where('id', '=', scopeId).executeTakeFirst())
            ?.org_id ?? undefined
        );
    }
  };

  return {
    ...createReservationMethods(db, profile),

    chargeMany: (inputs, now) =>
      batchWriter === undefined ? chargeMany(db, profile, inputs, now) : batchWriter.chargeMany(inputs, now),

    ledgerSnapshot: (orgId, now) => ledgerSnapshotIn(db, orgId, now),

    async addCredits({ orgId, amountMicros, note, now }) {
      assertMicros(amountMicros);
      return db.transaction().execute(async (trx) => {
        const organization = await trx
          .selectFrom('organizations')
          .select('id')
          .where('id', '=', orgId)
          .executeTakeFirst();
        if (organization === undefined) throw new StoreError('not_found', `No organization '${orgId}'.`);
        await trx
          .insertInto('billing_accounts')
          .values({ org_id: orgId, balance_micros: amountMicros, configured_at: now, updated_at: now })
          .onConflict((conflict) =>
            conflict.column('org_id').doUpdateSet((eb) => ({
              balance_micros: eb('billing_accounts.balance_micros', '+', eb.ref('excluded.balance_micros')),
              configured_at: eb.fn.coalesce('billing_accounts.configured_at', 'excluded.configured_at'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
        await trx
          .insertInto('billing_ledger')
          .values({
            org_id: orgId,
            kind: 'credit',
            amount_micros: amountMicros,
            event_id: null,
            reservation_id: null,
            project_id: null,
            key_id: null,
            note: note ?? null,
            created_at: now,
          })
          .execute();
        const balance = await balanceOf(trx, orgId);
        if (balance === undefined) throw new StoreError('not_found', `No billing account for '${orgId}'.`);
        return balance;
      });
    },

    getBalance(orgId) {
      return balanceOf(db, orgId);
    },

    async setBudget({ scope, scopeId, period, limitMicros, now }) {
      assertMicros(limitMicros);
      return db.transaction().execute(async (trx) => {
        const orgId = await orgOfScope(trx, scope, scopeId);
        if (orgId === undefined)
          throw new StoreError('not_found', `No ${scope} '${scopeId}' with an organization.`);
        const row = await trx
          .insertInto('budgets')
          .values({
            id: newStoredId('bud'),
            org_id: orgId,
            scope,
            scope_id: scopeId,
            period,
            limit_micros: limitMicros,
            created_at: now,
            updated_at: now,
          })
          .onConflict((conflict) =>
            conflict.columns(['scope', 'scope_id', 'period']).doUpdateSet((eb) => ({
              limit_micros: eb.ref('excluded.limit_micros'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        const [budget] = await withSpend(trx, [row], now);
        if (budget === undefined)
          throw new StoreError('not_found', `Budget for ${scope} '${scopeId}' vanished.`);
        return budget;
      });
    },

    async listBudgets({ orgId, now }) {
      let query = db.selectFrom('budgets').selectAll();
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      return withSpend(db, await query.execute(), now);
    },

    async deleteBudget(id, orgId) {
      let query = db.deleteFrom('budgets').where('id', '=', id);
      if (orgId !== undefined) query = query.where('org_id', '=', orgId);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
