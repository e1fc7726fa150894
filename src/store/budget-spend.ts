import type { Kysely, Selectable } from 'kysely';
import type { BudgetPeriod, BudgetRecord, BudgetScope } from './repositories.js';
import type { BudgetSpendTable, BudgetsTable, Database } from './schema.js';

const dayMs = 86_400_000;
export const budgetPeriods: readonly BudgetPeriod[] = ['day', 'month', 'total'];
const scopeOrder: Record<BudgetScope, number> = { org: 0, project: 1, key: 2 };
const periodOrder: Record<BudgetPeriod, number> = { day: 0, month: 1, total: 2 };

/** Start of the UTC day or calendar month containing `now`; 0 for `total`. */
export function periodStartOf(period: BudgetPeriod, now: number): number {
  switch (period) {
    case 'day':
      return Math.floor(now / dayMs) * dayMs;
    case 'month': {
      const date = new Date(now);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    }
    case 'total':
      return 0;
  }
}

export interface SpendTarget {
  orgId: string;
  projectId: string | null;
  keyId: string | null;
}

function scopesOf(target: SpendTarget): { scope: BudgetScope; scopeId: string }[] {
  const scopes: { scope: BudgetScope; scopeId: string }[] = [{ scope: 'org', scopeId: target.orgId }];
  if (target.projectId !== null) scopes.push({ scope: 'project', scopeId: target.projectId });
  if (target.keyId !== null) scopes.push({ scope: 'key', scopeId: target.keyId });
  return scopes;
}

/** The scope × period counter rows a settled amount adds to. */
export function spendRowsOf(target: SpendTarget, amountMicros: number, now: number): BudgetSpendTable[] {
  return scopesOf(target).flatMap(({ scope, scopeId }) =>
    budgetPeriods.map((period) => ({
      scope,
      scope_id: scopeId,
      period,
      period_start: periodStartOf(period, now),
      org_id: target.orgId,
      spent_micros: amountMicros,
    })),
  );
}

/** A settled amount and whom and when it charges: what `chargeTotals` sums. */
export interface SettledAmount extends SpendTarget {
  /** Micro-dollars; rounded here. */
  actualMicros: number;
  /** Decides the budget periods. */
  now: number;
}

/**
 * What a batch of charges does to the store: the debit per organization and the spend per counter
 * (scope × period), each summed, so that one statement per organization and per counter applies the
 * whole batch. Charges are first summed per payer and day, since every counter's period (day, month,
 * total) follows from the day. Amounts are rounded; a zero amount changes nothing.
 */
export function chargeTotals(charges: Iterable<SettledAmount>): {
  balanceDelta: Map<string, number>;
  spend: BudgetSpendTable[];
} {
  const balanceDelta = new Map<string, number>();
  const byPayerDay = new Map<string, { charge: SettledAmount; amount: number }>();
  for (const charge of charges) {
    const amount = Math.round(charge.actualMicros);
    if (amount === 0) continue;
    balanceDelta.set(charge.orgId, (balanceDelta.get(charge.orgId) ?? 0) + amount);
    const key = `${charge.orgId}\n${charge.projectId}\n${charge.keyId}\n${periodStartOf('day', charge.now)}`;
    const group = byPayerDay.get(key);
    if (group) group.amount += amount;
    else byPayerDay.set(key, { charge, amount });
  }
  const spend = new Map<string, BudgetSpendTable>();
  for (const { charge, amount } of byPayerDay.values()) {
    for (const row of spendRowsOf(charge, amount, charge.now)) {
      const key = `${row.scope}\n${row.scope_id}\n${row.period}\n${row.period_start}`;
      const merged = spend.get(key);
      if (merged) merged.spent_micros += amount;
      else spend.set(key, row);
    }
  }
  return { balanceDelta, spend: [...spend.values()] };
}

/** Adds the rows' amounts to their counters in one statement; rows of one counter must be merged first. */
export async function upsertSpend(db: Kysely<Database>, rows: readonly BudgetSpendTable[]) {
  if (rows.length === 0) return;
  await db
    .insertInto('budget_spend')
    .values(rows)
    .onConflict((conflict) =>
      conflict.columns(['scope', 'scope_id', 'period', 'period_start']).doUpdateSet((eb) => ({
        spent_micros: eb('budget_spend.spent_micros', '+', eb.ref('excluded.spent_micros')),
      })),
    )
    .execute();
}

/** Adds a settled amount to every scope × period counter of the request, in one statement. */
export function addSpend(db: Kysely<Database>, target: SpendTarget, amountMicros: number, now: number) {
  return upsertSpend(db, spendRowsOf(target, amountMicros, now));
}

/** Budgets as records, each with the spend of its period containing `now`; org → project → key order. */
export async function withSpend(
  db: Kysely<Database>,
  budgets: readonly Selectable<BudgetsTable>[],
  now: number,
): Promise<BudgetRecord[]> {
  if (budgets.length === 0) return [];
  const spend = await db
    .selectFrom('budget_spend')
    .select(['scope', 'scope_id', 'period', 'spent_micros'])
    .where((eb) =>
      eb.or(
        budgets.map((budget) =>
          eb.and([
            eb('scope', '=', budget.scope),
            eb('scope_id', '=', budget.scope_id),
            eb('period', '=', budget.period),
            eb('period_start', '=', periodStartOf(budget.period, now)),
          ]),
        ),
      ),
    )
    .execute();
  const spentOf = new Map(
    spend.map((row) => [`${row.scope}\n${row.scope_id}\n${row.period}`, row.spent_micros]),
  );
  return budgets
    .map((budget) => ({
      id: budget.id,
      orgId: budget.org_id,
      scope: budget.scope,
      scopeId: budget.scope_id,
      period: budget.period,
      limitMicros: budget.limit_micros,
      spentMicros: spentOf.get(`${budget.scope}\n${budget.scope_id}\n${budget.period}`) ?? 0,
      createdAt: budget.created_at,
      updatedAt: budget.updated_at,
    }))
    .sort(
      (left, right) =>
        scopeOrder[left.scope] - scopeOrder[right.scope] ||
        periodOrder[left.period] - periodOrder[right.period] ||
        left.scopeId.localeCompare(right.scopeId),
    );
}

/** The budgets that apply to a request: its organization's, its project's and its key's. */
export function applicableBudgets(db: Kysely<Database>, target: SpendTarget) {
  return db
    .selectFrom('budgets')
    .selectAll()
    .where('org_id', '=', target.orgId)
    .where((eb) =>
      eb.or(
        scopesOf(target).map(({ scope, scopeId }) =>
          eb.and([eb('scope', '=', scope), eb('scope_id', '=', scopeId)]),
        ),
      ),
    )
    .execute();
}
