import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalLedger } from '#src/billing/local-ledger.js';
import type { Clock } from '#src/clock.js';
import type { LedgerSnapshot, ReserveInput, Store } from '#src/store/repositories.js';
import { createChargingSink, type Settlement } from '#src/telemetry/settling-sink.js';
import { dialects, type TestDatabase } from '../store/store-dialects.js';
import { makeEvent } from '../telemetry/fakes.js';

const sqlite = dialects.find((dialect) => dialect.name === 'sqlite');
if (!sqlite) throw new Error('no SQLite dialect');

let database: TestDatabase;
let store: Store;
let nowMs = Date.UTC(2026, 10, 26, 12);
const clock: Clock = { now: () => nowMs, monotonic: () => nowMs };
let counter = 0;

beforeEach(async () => {
  database = await sqlite.createDatabase();
  store = await database.open();
});
afterEach(async () => {
  await store.close();
  await database.drop();
});

async function newTenant(creditMicros?: number) {
  counter += 1;
  const { organization, defaultProject } = await store.organizations.create({ name: `org-${counter}` });
  const key = await store.apiKeys.create({
    orgId: organization.id,
    name: 'k',
    hash: `hash-${counter}`,
    prefix: 'mk_live_xxxx',
  });
  if (creditMicros !== undefined) {
    await store.billing.addCredits({ orgId: organization.id, amountMicros: creditMicros, now: nowMs });
  }
  return { orgId: organization.id, projectId: defaultProject.id, keyId: key.id };
}

type Tenant = Awaited<ReturnType<typeof newTenant>>;

function reservation(tenant: Tenant, amountMicros: number, prepaid = true): ReserveInput {
  counter += 1;
  return { reservationId: `rsv_${counter}`, ...tenant, amountMicros, prepaid, now: nowMs };
}

function settlement(held: ReserveInput, actualMicros: number): Settlement {
  return {
    reservationId: held.reservationId,
    eventId: `evt_${held.reservationId}`,
    actualMicros,
    now: nowMs,
    orgId: held.orgId,
    projectId: held.projectId,
    keyId: held.keyId,
  };
}

describe('LocalLedger (reservations in memory, SQLite)', () => {
  it('lets exactly as many concurrent reservations through as the balance covers', async () => {
    const tenant = await newTenant(1_000);
    const ledger = new LocalLedger({ billing: store.billing, clock });
    const results = await Promise.all(
      Array.from({ length: 25 }, () => ledger.reserve(reservation(tenant, 300))),
    );
    expect(results.filter((result) => result.ok)).toHaveLength(3);
    expect(results.find((result) => !result.ok)).toEqual({
      ok: false,
      code: 'insufficient_credits',
      availableMicros: 100,
    });
    expect(ledger.heldMicros(tenant.orgId)).toBe(900);
  });

  it('charges settlements through the store, then releases their holds', async () => {
    const tenant = await newTenant(1_000);
    const ledger = new LocalLedger({ billing: store.billing, clock });
    const first = reservation(tenant, 400);
    const second = reservation(tenant, 400);
    expect(await ledger.reserve(first)).toEqual({ ok: true });
    expect(await ledger.reserve(second)).toEqual({ ok: true });
    expect(await ledger.reserve(reservation(tenant, 400))).toMatchObject({ code: 'insufficient_credits' });

    // The first request cost 150; the second failed before any output (charged 0).
    expect(await ledger.settleMany([settlement(first, 150), settlement(second, 0)])).toEqual(['charged']);
    expect(ledger.heldMicros(tenant.orgId)).toBe(0);
    expect(await store.billing.getBalance(tenant.orgId)).toMatchObject({ balanceMicros: 850 });
    expect(await ledger.reserve(reservation(tenant, 850))).toEqual({ ok: true });
    expect(await ledger.reserve(reservation(tenant, 1))).toMatchObject({
      code: 'insufficient_credits',
      availableMicros: 0,
    });
  });

  it('through the charging sink: the batch and its charges are one store write, then holds are released', async () => {
    const tenant = await newTenant(1_000);
    const ledger = new LocalLedger({ billing: store.billing, clock });
    const held = reservation(tenant, 600);
    expect(await ledger.reserve(held)).toEqual({ ok: true });
    const heldDuringWrites: number[] = [];
    const sink = createChargingSink(
      {
        insertManyCharging: (events, now) => {
          heldDuringWrites.push(ledger.heldMicros(tenant.orgId));
          return store.requestEvents.insertManyCharging(events, now);
        },
      },
      ledger,
    );
    const event = makeEvent(1, {
      id: `evt_${held.reservationId}`,
      ts: nowMs,
      org_id: tenant.orgId,
      project_id: tenant.projectId,
      key_id: tenant.keyId,
      settlement: { reservation_id: held.reservationId, actual_usd_micros: 250 },
    });
    await sink.insertMany([event]);
    // A replayed batch (spool) changes nothing.
    await sink.insertMany([event]);
    expect(heldDuringWrites).toEqual([600, 0]);
    expect(ledger.heldMicros(tenant.orgId)).toBe(0);
    expect(await store.billing.getBalance(tenant.orgId)).toMatchObject({ balanceMicros: 750 });
    // The ledger took the write's snapshot: 750 left, not the 1,000 it read before.
    expect(await ledger.reserve(reservation(tenant, 750))).toEqual({ ok: true });
    expect(await ledger.reserve(reservation(tenant, 1))).toMatchObject({
      code: 'insufficient_credits',
      availableMicros: 0,
    });
  });

  it('keeps holds when the store is down and charges them once when it is back', async () => {
    const tenant = await newTenant(1_000);
    let isDown = false;
    const ledger = new LocalLedger({
      billing: {
        ledgerSnapshot: (orgId, now) => store.billing.ledgerSnapshot(orgId, now),
        chargeMany: (inputs, now) =>
          isDown ? Promise.reject(new Error('down')) : store.billing.chargeMany(inputs, now),
      },
      clock,
    });
    const held = reservation(tenant, 600);
    await ledger.reserve(held);
    isDown = true;
    await expect(ledger.settleMany([settlement(held, 500)])).rejects.toThrow('down');
    // Still held: the spend is not lost while the batch waits in the spool.
    expect(await ledger.reserve(reservation(tenant, 500))).toMatchObject({ code: 'insufficient_credits' });
    isDown = false;
    await ledger.settleMany([settlement(held, 500)]);
    await ledger.settleMany([settlement(held, 500)]);
    expect(await store.billing.getBalance(tenant.orgId)).toMatchObject({ balanceMicros: 500 });
    expect(ledger.heldMicros(tenant.orgId)).toBe(0);
  });

  it('checks the budgets of the organization, project and key with their holds', async () => {
    const tenant = await newTenant();
    const sibling = { ...tenant, keyId: (await newTenant()).keyId };
    await store.billing.setBudget({
      scope: 'key',
      scopeId: tenant.keyId,
      period: 'day',
      limitMicros: 1_000,
      now: nowMs,
    });
    await store.billing.setBudget({
      scope: 'project',
      scopeId: tenant.projectId,
      period: 'month',
      limitMicros: 1_500,
      now: nowMs,
    });
    const ledger = new LocalLedger({ billing: store.billing, clock });
    const first = reservation(tenant, 700, false);
    expect(await ledger.reserve(first)).toEqual({ ok: true });
    expect(await ledger.reserve(reservation(tenant, 400, false))).toMatchObject({
      ok: false,
      code: 'budget_exceeded',
      budget: { scope: 'key', scopeId: tenant.keyId, period: 'day', limitMicros: 1_000 },
    });
    // Another key of the same project is held to the project's budget only.
    expect(await ledger.reserve(reservation(sibling, 700, false))).toEqual({ ok: true });
    expect(await ledger.reserve(reservation(sibling, 200, false))).toMatchObject({
      code: 'budget_exceeded',
      budget: { scope: 'project' },
    });
    // Settled: 600 spent by the key and the project; the sibling's 700 still held.
    await ledger.settleMany([settlement(first, 600)]);
    expect(await ledger.reserve(reservation(tenant, 201, false))).toMatchObject({
      code: 'budget_exceeded',
      budget: { scope: 'project', spentMicros: 600 },
    });
    expect(await ledger.reserve(reservation(tenant, 200, false))).toEqual({ ok: true });
  });

  it('refuses only on a fresh read: credits added by another process apply to the next request', async () => {
    const tenant = await newTenant(100);
    const ledger = new LocalLedger({ billing: store.billing, clock, refreshAfterMs: 60_000 });
    expect(await ledger.reserve(reservation(tenant, 500))).toMatchObject({ code: 'insufficient_credits' });
    // The CLI writes to the database directly; this ledger is not told.
    await store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 1_000, now: nowMs });
    expect(await ledger.reserve(reservation(tenant, 500))).toEqual({ ok: true });
  });

  it('answers billing_not_configured for unknown or never-credited organizations when prepaid', async () => {
    const tenant = await newTenant();
    const ledger = new LocalLedger({ billing: store.billing, clock });
    expect(await ledger.reserve(reservation(tenant, 1))).toEqual({
      ok: false,
      code: 'billing_not_configured',
    });
    expect(await ledger.reserve(reservation(tenant, 1, false))).toEqual({ ok: true });
    expect(await ledger.reserve(reservation({ ...tenant, orgId: 'org_missing' }, 1, false))).toEqual({
      ok: false,
      code: 'billing_not_configured',
    });
  });

  it('drops a snapshot read that a settlement overtook', async () => {
    const tenant = await newTenant(1_000);
    let pending: { resolve: (snapshot: LedgerSnapshot) => void; snapshot: LedgerSnapshot } | undefined;
    let onHeldRead: () => void = () => {};
    const heldRead = new Promise<void>((resolve) => {
      onHeldRead = resolve;
    });
    let isHeld = false;
    const ledger = new LocalLedger({
      billing: {
        async ledgerSnapshot(orgId, now) {
          const snapshot = await store.billing.ledgerSnapshot(orgId, now);
          if (!isHeld) return snapshot;
          return new Promise<LedgerSnapshot>((resolve) => {
            pending = { resolve, snapshot };
            onHeldRead();
          });
        },
        chargeMany: (inputs, now) => store.billing.chargeMany(inputs, now),
      },
      clock,
      refreshAfterMs: 10,
    });
    const held = reservation(tenant, 800);
    await ledger.reserve(held);
    // A background refresh reads the balance before the settlement is written…
    isHeld = true;
    nowMs += 20;
    await ledger.reserve(reservation(tenant, 1));
    await heldRead;
    expect(pending?.snapshot.account?.balanceMicros).toBe(1_000);
    isHeld = false;
    // …the settlement commits and releases the hold…
    await ledger.settleMany([settlement(held, 800)]);
    // …and the stale read arrives last: it must not bring the 800 back.
    pending?.resolve(pending.snapshot);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await ledger.reserve(reservation(tenant, 200))).toMatchObject({
      code: 'insufficient_credits',
      availableMicros: 199,
    });
  });

  it('reads again after a budget change signalled while a batch was being charged', async () => {
    const tenant = await newTenant();
    let onCharged: () => void = () => {};
    const charged = new Promise<void>((resolve) => {
      onCharged = resolve;
    });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ledger = new LocalLedger({
      billing: {
        ledgerSnapshot: (orgId, now) => store.billing.ledgerSnapshot(orgId, now),
        async chargeMany(inputs, now) {
          // The snapshot is read before the budget below exists; the answer arrives after.
          const answer = await store.billing.chargeMany(inputs, now);
          onCharged();
          await released;
          return answer;
        },
      },
      clock,
      refreshAfterMs: 60_000,
    });
    const held = reservation(tenant, 100, false);
    await ledger.reserve(held);
    const settling = ledger.settleMany([settlement(held, 100)]);
    await charged;
    await store.billing.setBudget({
      scope: 'org',
      scopeId: tenant.orgId,
      period: 'day',
      limitMicros: 150,
      now: nowMs,
    });
    ledger.invalidate(tenant.orgId);
    release();
    await settling;
    expect(await ledger.reserve(reservation(tenant, 100, false))).toMatchObject({
      code: 'budget_exceeded',
      budget: { scope: 'org', spentMicros: 100, limitMicros: 150 },
    });
  });

  it('releases holds whose settlement never came', async () => {
    const tenant = await newTenant(1_000);
    const ledger = new LocalLedger({ billing: store.billing, clock });
    await ledger.reserve(reservation(tenant, 600));
    nowMs += 1_000;
    await ledger.reserve(reservation(tenant, 300));
    expect(await ledger.releaseStale(nowMs - 500)).toBe(1);
    expect(ledger.heldMicros(tenant.orgId)).toBe(300);
  });
});
