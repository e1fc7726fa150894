import type { Kysely } from 'kysely';
import type { RequestEvent } from '../telemetry/request-event.js';
import { chargeTotals, upsertSpend, withSpend } from './budget-spend.js';
import type { ChargeManyResult, DialectProfile } from './dialect-profile.js';
import { chunkRows, toText } from './json-column.js';
import type { ChargeInput, ChargeResult, LedgerSnapshot } from './repositories.js';
import type { Database } from './schema.js';

/**
 * The charge a settlement asks for, when there is one to write: a payer, a finite amount and not
 * zero once rounded (a zero charge writes nothing; there is no stored reservation to close).
 */
export function chargeOf(
  settlement: Omit<ChargeInput, 'orgId'> & { orgId: string | null },
): ChargeInput | undefined {
  const { orgId, actualMicros } = settlement;
  if (orgId === null || !Number.isFinite(actualMicros) || Math.round(actualMicros) === 0) return undefined;
  return {
    eventId: settlement.eventId,
    orgId,
    projectId: settlement.projectId,
    keyId: settlement.keyId,
    actualMicros,
    now: settlement.now,
  };
}

/** `chargeOf` the settlement riding on a request event (its time decides the budget periods). */
export function chargeOfEvent(event: RequestEvent): ChargeInput | undefined {
  if (!event.settlement) return undefined;
  return chargeOf({
    eventId: event.id,
    orgId: event.org_id,
    projectId: event.project_id,
    keyId: event.key_id,
    actualMicros: event.settlement.actual_usd_micros,
    now: event.ts,
  });
}

/** The organization's account and budgets (with spend for the periods containing `now`). */
export async function ledgerSnapshotIn(
  db: Kysely<Database>,
  orgId: string,
  now: number,
): Promise<LedgerSnapshot> {
  const organization = await db
    .selectFrom('organizations')
    .select('id')
    .where('id', '=', orgId)
    .executeTakeFirst();
  const account = await db
    .selectFrom('billing_accounts')
    .select(['balance_micros', 'configured_at'])
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const budgets = await db.selectFrom('budgets').selectAll().where('org_id', '=', orgId).execute();
  return {
    orgId,
    orgExists: organization !== undefined,
    ...(account === undefined
      ? {}
      : {
          account: {
            balanceMicros: Number(account.balance_micros),
            isConfigured: account.configured_at !== null,
          },
        }),
    budgets: await withSpend(db, budgets, now),
    readAt: now,
  };
}

/**
 * Charges without stored reservations, batched: one multi-row debit insert (idempotent by event id),
 * one balance update per organization and one spend upsert for all counters, then a fresh snapshot of
 * each organization charged, as of `now`. Runs inside the caller's transaction.
 */
export async function chargeManyIn(
  trx: Kysely<Database>,
  profile: DialectProfile,
  inputs: readonly ChargeInput[],
  now: number,
): Promise<ChargeManyResult> {
  const results: ChargeResult[] = inputs.map((input) =>
    Number.isFinite(input.actualMicros) ? 'duplicate' : 'invalid_amount',
  );
  const debits = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    if (!Number.isFinite(input.actualMicros) || seen.has(input.eventId)) continue;
    seen.add(input.eventId);
    debits.push({
      org_id: input.orgId,
      kind: 'debit' as const,
      amount_micros: Math.round(input.actualMicros),
      event_id: toText(input.eventId),
      reservation_id: null,
      project_id: input.projectId,
      key_id: input.keyId,
      note: null,
      created_at: input.now,
    });
  }
  const charged = new Set<string>();
  for (const chunk of chunkRows(debits, profile.maxParameters)) {
    const rows = await trx
      .insertInto('billing_ledger')
      .values(chunk)
      .onConflict((conflict) => conflict.column('event_id').doNothing())
      .returning('event_id')
      .execute();
    for (const row of rows) if (row.event_id !== null) charged.add(row.event_id);
  }

  const newlyCharged: ChargeInput[] = [];
  for (const [index, input] of inputs.entries()) {
    if (results[index] === 'invalid_amount' || !charged.has(toText(input.eventId))) continue;
    charged.delete(toText(input.eventId));
    results[index] = 'charged';
    newlyCharged.push(input);
  }
  const { balanceDelta, spend } = chargeTotals(newlyCharged);
  for (const [orgId, amount] of balanceDelta) {
    await trx
      .updateTable('billing_accounts')
      .set((eb) => ({ balance_micros: eb('balance_micros', '-', amount), updated_at: now }))
      .where('org_id', '=', orgId)
      .execute();
  }
  for (const chunk of chunkRows(spend, profile.maxParameters)) await upsertSpend(trx, chunk);

  const snapshots: LedgerSnapshot[] = [];
  for (const orgId of new Set(inputs.map((input) => input.orgId))) {
    snapshots.push(await ledgerSnapshotIn(trx, orgId, now));
  }
  return { results, snapshots };
}

/** `billing.chargeMany`: `chargeManyIn` in a transaction of its own, on whichever connection writes. */
export function chargeMany(
  db: Kysely<Database>,
  profile: DialectProfile,
  inputs: readonly ChargeInput[],
  now: number,
): Promise<ChargeManyResult> {
  if (inputs.length === 0) return Promise.resolve({ results: [], snapshots: [] });
  return db.transaction().execute((trx) => chargeManyIn(trx, profile, inputs, now));
}
