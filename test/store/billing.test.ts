import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { ReserveInput, Store } from '#src/store/repositories.js';
import type { RequestEvent } from '#src/telemetry/request-event.js';
import { makeEvent } from '../telemetry/fakes.js';
import type { RaceOrder } from './reserve-worker.js';
import { dialects, uniqueName, useStore } from './store-dialects.js';

const dayMs = 86_400_000;
/** Worker threads do not get vitest's TypeScript transform; tsx loads the worker module instead. */
const workerBootstrap = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(
  new URL('./reserve-worker.ts', import.meta.url).href,
)}, ${JSON.stringify(import.meta.url)}))`;

for (const dialect of dialects) {
  describe(`store billing on ${dialect.name}`, () => {
    const fixture = useStore(dialect);
    let reservationCounter = 0;

    const newTenant = async () => {
      const { organization, defaultProject } = await fixture.store.organizations.create({
        name: uniqueName('org'),
      });
      const key = await fixture.store.apiKeys.create({
        orgId: organization.id,
        name: 'k',
        hash: uniqueName('hash'),
        prefix: 'mk_live_xxxx',
      });
      return { orgId: organization.id, projectId: defaultProject.id, keyId: key.id };
    };

    const reserveInput = (
      tenant: { orgId: string; projectId: string; keyId: string },
      amountMicros: number,
      extra: Partial<ReserveInput> = {},
    ): ReserveInput => {
      reservationCounter += 1;
      return {
        reservationId: `res_${dialect.name}_${reservationCounter}_${uniqueName('r')}`,
        ...tenant,
        amountMicros,
        prepaid: true,
        now: fixture.clock.now(),
        ...extra,
      };
    };

    describe('credits and balance', () => {
      it('refuse prepaid requests until credits were added', async () => {
        const tenant = await newTenant();
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toEqual({
          orgId: tenant.orgId,
          isConfigured: false,
          balanceMicros: 0,
          reservedMicros: 0,
          availableMicros: 0,
        });
        expect(await fixture.store.billing.reserve(reserveInput(tenant, 1))).toEqual({
          ok: false,
          code: 'billing_not_configured',
        });
        expect(await fixture.store.billing.reserve(reserveInput(tenant, 1, { prepaid: false }))).toEqual({
          ok: true,
        });
      });

      it('add credits to the balance through the ledger', async () => {
        const tenant = await newTenant();
        const now = fixture.clock.now();
        await fixture.store.billing.addCredits({
          orgId: tenant.orgId,
          amountMicros: 5_000_000,
          note: 'seed',
          now,
        });
        const balance = await fixture.store.billing.addCredits({
          orgId: tenant.orgId,
          amountMicros: 250_000,
          now,
        });
        expect(balance).toEqual({
          orgId: tenant.orgId,
          isConfigured: true,
          balanceMicros: 5_250_000,
          reservedMicros: 0,
          availableMicros: 5_250_000,
        });
        await expect(
          fixture.store.billing.addCredits({ orgId: 'org_missing', amountMicros: 1, now }),
        ).rejects.toMatchObject({ code: 'not_found' });
        await expect(
          fixture.store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 0.5, now }),
        ).rejects.toBeInstanceOf(RangeError);
      });

      it('hold reservations against the balance and release them', async () => {
        const tenant = await newTenant();
        await fixture.store.billing.addCredits({
          orgId: tenant.orgId,
          amountMicros: 1_000,
          now: fixture.clock.now(),
        });
        const first = reserveInput(tenant, 600);
        expect(await fixture.store.billing.reserve(first)).toEqual({ ok: true });
        expect(await fixture.store.billing.reserve(first)).toEqual({ ok: true });
        expect(await fixture.store.billing.reserve(reserveInput(tenant, 500))).toEqual({
          ok: false,
          code: 'insufficient_credits',
          availableMicros: 400,
        });
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({
          balanceMicros: 1_000,
          reservedMicros: 600,
          availableMicros: 400,
        });
        expect(await fixture.store.billing.release(first.reservationId, fixture.clock.now())).toBe(true);
        expect(await fixture.store.billing.release(first.reservationId, fixture.clock.now())).toBe(false);
        expect(await fixture.store.billing.reserve(reserveInput(tenant, 1_000))).toEqual({ ok: true });
      });

      it('release reservations left open by a crashed process', async () => {
        const tenant = await newTenant();
        await fixture.store.billing.addCredits({
          orgId: tenant.orgId,
          amountMicros: 100,
          now: fixture.clock.now(),
        });
        await fixture.store.billing.reserve(reserveInput(tenant, 100, { now: 1_000 }));
        expect(await fixture.store.billing.reserve(reserveInput(tenant, 1))).toMatchObject({
          code: 'insufficient_credits',
        });
        expect(await fixture.store.billing.releaseStale(2_000, fixture.clock.now())).toBeGreaterThanOrEqual(
          1,
        );
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({ availableMicros: 100 });
      });
    });

    describe('settlement', () => {
      it('debits, records spend and closes the reservation once per event', async () => {
        const tenant = await newTenant();
        const now = fixture.clock.now();
        await fixture.store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 10_000, now });
        await fixture.store.billing.setBudget({
          scope: 'key',
          scopeId: tenant.keyId,
          period: 'total',
          limitMicros: 1e9,
          now,
        });
        const reservation = reserveInput(tenant, 3_000);
        await fixture.store.billing.reserve(reservation);
        const settle = {
          reservationId: reservation.reservationId,
          eventId: uniqueName('evt'),
          actualMicros: 1_200,
          now,
        };
        expect(await fixture.store.billing.settle(settle)).toBe('settled');
        expect(await fixture.store.billing.settle(settle)).toBe('duplicate');
        expect(await fixture.store.billing.settle({ ...settle, eventId: uniqueName('evt') })).toBe(
          'duplicate',
        );
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toEqual({
          orgId: tenant.orgId,
          isConfigured: true,
          balanceMicros: 8_800,
          reservedMicros: 0,
          availableMicros: 8_800,
        });
        const [budget] = await fixture.store.billing.listBudgets({ orgId: tenant.orgId, now });
        expect(budget).toMatchObject({ scope: 'key', spentMicros: 1_200 });
        expect(await fixture.store.billing.release(reservation.reservationId, now)).toBe(false);
      });

      it('settles a batch in one call, each settlement as settle would', async () => {
        const tenant = await newTenant();
        const now = fixture.clock.now();
        await fixture.store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 10_000, now });
        const first = reserveInput(tenant, 1_000);
        const second = reserveInput(tenant, 1_000);
        await fixture.store.billing.reserve(first);
        await fixture.store.billing.reserve(second);
        const eventId = uniqueName('evt');
        const results = await fixture.store.billing.settleMany([
          { reservationId: first.reservationId, eventId, actualMicros: 300, now },
          { reservationId: second.reservationId, eventId: uniqueName('evt'), actualMicros: 200, now },
          { reservationId: first.reservationId, eventId, actualMicros: 300, now },
          { reservationId: 'res_missing', eventId: uniqueName('evt'), actualMicros: 1, now },
        ]);
        expect(results).toEqual(['settled', 'settled', 'duplicate', 'unknown_reservation']);
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({
          balanceMicros: 9_500,
          reservedMicros: 0,
        });
      });

      it('charges a batch without stored reservations, once per event, and answers fresh snapshots', async () => {
        const tenant = await newTenant();
        const other = await newTenant();
        const now = Date.UTC(2026, 10, 26, 12);
        await fixture.store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 10_000, now });
        await fixture.store.billing.setBudget({
          scope: 'key',
          scopeId: tenant.keyId,
          period: 'day',
          limitMicros: 5_000,
          now,
        });
        const eventId = uniqueName('evt');
        const charge = (id: string, actualMicros: number, payer = tenant) => ({
          eventId: id,
          ...payer,
          actualMicros,
          now,
        });
        const first = await fixture.store.billing.chargeMany(
          [
            charge(eventId, 300.4),
            charge(uniqueName('evt'), 200),
            charge(eventId, 300),
            charge(uniqueName('evt'), Number.NaN),
            charge(uniqueName('evt'), 50, other),
          ],
          now,
        );
        expect(first.results).toEqual(['charged', 'charged', 'duplicate', 'invalid_amount', 'charged']);
        const mine = first.snapshots.find((snapshot) => snapshot.orgId === tenant.orgId);
        expect(mine).toMatchObject({
          orgExists: true,
          account: { balanceMicros: 9_500, isConfigured: true },
          budgets: [{ scope: 'key', scopeId: tenant.keyId, period: 'day', spentMicros: 500 }],
          readAt: now,
        });
        // An organization never credited is debited too (billing off still tracks spend).
        expect(first.snapshots.find((snapshot) => snapshot.orgId === other.orgId)).toMatchObject({
          orgExists: true,
          account: { balanceMicros: -50, isConfigured: false },
          budgets: [],
        });

        const again = await fixture.store.billing.chargeMany([charge(eventId, 300)], now);
        expect(again.results).toEqual(['duplicate']);
        expect(await fixture.store.billing.ledgerSnapshot(tenant.orgId, now)).toMatchObject({
          account: { balanceMicros: 9_500 },
          budgets: [{ spentMicros: 500 }],
        });
        // The next day's budget period starts empty.
        expect(await fixture.store.billing.ledgerSnapshot(tenant.orgId, now + dayMs)).toMatchObject({
          budgets: [{ spentMicros: 0 }],
        });
        expect(await fixture.store.billing.ledgerSnapshot('org_missing', now)).toEqual({
          orgId: 'org_missing',
          orgExists: false,
          budgets: [],
          readAt: now,
        });
      });

      it('stores a request-log batch and charges the events it newly stored, once per event id', async () => {
        const tenant = await newTenant();
        const now = Date.UTC(2026, 10, 26, 12);
        await fixture.store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 10_000, now });
        await fixture.store.billing.setBudget({
          scope: 'project',
          scopeId: tenant.projectId,
          period: 'month',
          limitMicros: 5_000,
          now,
        });
        await fixture.store.billing.setBudget({
          scope: 'key',
          scopeId: tenant.keyId,
          period: 'day',
          limitMicros: 5_000,
          now,
        });
        const event = (actualMicros: number | null, overrides: Partial<RequestEvent> = {}) =>
          makeEvent(0, {
            id: uniqueName('evt'),
            ts: now,
            org_id: tenant.orgId,
            project_id: tenant.projectId,
            key_id: tenant.keyId,
            settlement:
              actualMicros === null
                ? null
                : { reservation_id: uniqueName('rsv'), actual_usd_micros: actualMicros },
            ...overrides,
          });
        // A row the database refuses (NOT NULL), as a spooled event of an older build could be.
        const refused = event(40, { endpoint: null as unknown as string });
        // Yesterday's event counts in the month's spend, not in today's.
        const yesterday = event(100, { ts: now - dayMs });
        const batch = [
          event(300.4),
          event(200),
          event(null),
          event(0),
          event(Number.NaN),
          refused,
          yesterday,
        ];
        const first = await fixture.store.requestEvents.insertManyCharging(batch, now);
        expect(first.inserted).toBe(6);
        expect(first.rejected).toEqual([{ id: refused.id, reason: expect.any(String) }]);
        expect(first.snapshots).toEqual([
          expect.objectContaining({
            orgId: tenant.orgId,
            account: { balanceMicros: 10_000 - 300 - 200 - 40 - 100, isConfigured: true },
            budgets: [
              expect.objectContaining({ scope: 'project', period: 'month', spentMicros: 640 }),
              expect.objectContaining({ scope: 'key', period: 'day', spentMicros: 540 }),
            ],
            readAt: now,
          }),
        ]);

        // A replay of the batch (spool, retry after a timeout) stores and charges nothing again.
        const again = await fixture.store.requestEvents.insertManyCharging([...batch, event(7)], now);
        expect(again.inserted).toBe(1);
        expect(again.snapshots[0]).toMatchObject({
          account: { balanceMicros: 10_000 - 647 },
          budgets: [{ spentMicros: 647 }, { spentMicros: 547 }],
        });
        expect(await fixture.store.requestEvents.get(tenant.orgId, batch[0]?.id ?? '')).toMatchObject({
          id: batch[0]?.id,
        });
      });

      it('answers unknown_reservation and changes nothing for an unknown reservation', async () => {
        const settle = { reservationId: 'res_missing', eventId: uniqueName('evt'), actualMicros: 5, now: 0 };
        expect(await fixture.store.billing.settle(settle)).toBe('unknown_reservation');
      });

      it('answers bad amounts instead of throwing, and rounds fractions', async () => {
        const tenant = await newTenant();
        await fixture.store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 100, now: 0 });
        const reservation = reserveInput(tenant, 10.2);
        expect(await fixture.store.billing.reserve(reservation)).toEqual({ ok: true });
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({ reservedMicros: 11 });
        const settle = { reservationId: reservation.reservationId, eventId: uniqueName('evt'), now: 0 };
        expect(await fixture.store.billing.settle({ ...settle, actualMicros: Number.NaN })).toBe(
          'invalid_amount',
        );
        expect(await fixture.store.billing.settle({ ...settle, actualMicros: 4.6 })).toBe('settled');
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({
          balanceMicros: 95,
          reservedMicros: 0,
        });
      });

      it('of zero still releases the reservation', async () => {
        const tenant = await newTenant();
        await fixture.store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 50, now: 0 });
        const reservation = reserveInput(tenant, 50);
        await fixture.store.billing.reserve(reservation);
        await fixture.store.billing.settle({
          reservationId: reservation.reservationId,
          eventId: uniqueName('evt'),
          actualMicros: 0,
          now: 0,
        });
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({
          balanceMicros: 50,
          availableMicros: 50,
        });
      });
    });

    describe('budgets', () => {
      it('are set per scope and period, replaced in place, listed per organization and deleted', async () => {
        const tenant = await newTenant();
        const other = await newTenant();
        const now = fixture.clock.now();
        const set = (scope: 'org' | 'project' | 'key', scopeId: string, limitMicros: number) =>
          fixture.store.billing.setBudget({ scope, scopeId, period: 'month', limitMicros, now });
        const created = await set('project', tenant.projectId, 100);
        expect(created).toMatchObject({
          id: expect.stringMatching(/^bud_/),
          orgId: tenant.orgId,
          scope: 'project',
          scopeId: tenant.projectId,
          period: 'month',
          limitMicros: 100,
          spentMicros: 0,
        });
        const replaced = await set('project', tenant.projectId, 200);
        expect(replaced).toMatchObject({ id: created.id, limitMicros: 200 });
        await set('org', tenant.orgId, 1_000);
        await set('org', other.orgId, 1);
        const listed = await fixture.store.billing.listBudgets({ orgId: tenant.orgId, now });
        expect(listed.map((budget) => [budget.scope, budget.limitMicros])).toEqual([
          ['org', 1_000],
          ['project', 200],
        ]);
        await expect(set('key', 'key_missing', 1)).rejects.toMatchObject({ code: 'not_found' });
        expect(await fixture.store.billing.deleteBudget(created.id, other.orgId)).toBe(false);
        expect(await fixture.store.billing.deleteBudget(created.id, tenant.orgId)).toBe(true);
        expect(await fixture.store.billing.listBudgets({ orgId: tenant.orgId, now })).toHaveLength(1);
      });

      it('count period spend and open reservations, and reset with the day', async () => {
        const tenant = await newTenant();
        const start = Date.UTC(2025, 6, 1, 23, 0, 0);
        await fixture.store.billing.setBudget({
          scope: 'project',
          scopeId: tenant.projectId,
          period: 'day',
          limitMicros: 1_000,
          now: start,
        });
        const first = reserveInput(tenant, 400, { prepaid: false, now: start });
        expect(await fixture.store.billing.reserve(first)).toEqual({ ok: true });
        await fixture.store.billing.settle({
          reservationId: first.reservationId,
          eventId: uniqueName('evt'),
          actualMicros: 700,
          now: start,
        });
        expect(
          await fixture.store.billing.reserve(reserveInput(tenant, 200, { prepaid: false, now: start })),
        ).toEqual({
          ok: true,
        });
        const refused = await fixture.store.billing.reserve(
          reserveInput(tenant, 101, { prepaid: false, now: start }),
        );
        expect(refused).toMatchObject({
          ok: false,
          code: 'budget_exceeded',
          budget: {
            scope: 'project',
            scopeId: tenant.projectId,
            period: 'day',
            limitMicros: 1_000,
            spentMicros: 700,
          },
        });
        const nextDay = start + dayMs;
        expect(
          await fixture.store.billing.reserve(reserveInput(tenant, 700, { prepaid: false, now: nextDay })),
        ).toEqual({
          ok: true,
        });
      });

      it('see spend settled before the budget was set (total period)', async () => {
        const tenant = await newTenant();
        const reservation = reserveInput(tenant, 10, { prepaid: false });
        await fixture.store.billing.reserve(reservation);
        await fixture.store.billing.settle({
          reservationId: reservation.reservationId,
          eventId: uniqueName('evt'),
          actualMicros: 90,
          now: fixture.clock.now(),
        });
        await fixture.store.billing.setBudget({
          scope: 'org',
          scopeId: tenant.orgId,
          period: 'total',
          limitMicros: 100,
          now: fixture.clock.now(),
        });
        expect(
          await fixture.store.billing.reserve(reserveInput(tenant, 11, { prepaid: false })),
        ).toMatchObject({
          code: 'budget_exceeded',
        });
        expect(await fixture.store.billing.reserve(reserveInput(tenant, 10, { prepaid: false }))).toEqual({
          ok: true,
        });
      });

      it("of one organization never limit another's", async () => {
        const tenant = await newTenant();
        const other = await newTenant();
        await fixture.store.billing.setBudget({
          scope: 'org',
          scopeId: other.orgId,
          period: 'total',
          limitMicros: 0,
          now: 0,
        });
        expect(await fixture.store.billing.reserve(reserveInput(tenant, 5, { prepaid: false }))).toEqual({
          ok: true,
        });
        expect(await fixture.store.billing.reserve(reserveInput(other, 5, { prepaid: false }))).toMatchObject(
          {
            code: 'budget_exceeded',
          },
        );
      });
    });

    describe('under concurrency', () => {
      const amountMicros = 1_000;

      const race = async (
        stores: Store[],
        tenant: Awaited<ReturnType<typeof newTenant>>,
        prepaid: boolean,
      ) => {
        const attempts = Array.from({ length: 50 }, (_, index) =>
          (stores[index % stores.length] as Store).billing.reserve(
            reserveInput(tenant, amountMicros, { prepaid }),
          ),
        );
        const results = await Promise.all(attempts);
        return results.filter((result) => result.ok).length;
      };

      it('50 reservations against a balance covering 10 let exactly 10 through', async () => {
        const tenant = await newTenant();
        await fixture.store.billing.addCredits({
          orgId: tenant.orgId,
          amountMicros: 10 * amountMicros,
          now: 0,
        });
        expect(await race([fixture.store], tenant, true)).toBe(10);
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({
          balanceMicros: 10 * amountMicros,
          reservedMicros: 10 * amountMicros,
          availableMicros: 0,
        });
      });

      it('50 reservations against a budget covering 10 let exactly 10 through', async () => {
        const tenant = await newTenant();
        await fixture.store.billing.setBudget({
          scope: 'key',
          scopeId: tenant.keyId,
          period: 'day',
          limitMicros: 10 * amountMicros,
          now: fixture.clock.now(),
        });
        expect(await race([fixture.store], tenant, false)).toBe(10);
      });

      it('two threads with their own connections racing one balance let exactly 10 through', async () => {
        const tenant = await newTenant();
        await fixture.store.billing.addCredits({
          orgId: tenant.orgId,
          amountMicros: 10 * amountMicros,
          now: 0,
        });
        const start = (prefix: string) => {
          const order: RaceOrder = {
            url: fixture.database.url,
            storeOptions: fixture.database.storeOptions,
            prefix: `${prefix}_${uniqueName('race')}`,
            count: 25,
            tenant,
            amountMicros,
          };
          const worker = new Worker(workerBootstrap, { eval: true, workerData: order });
          const messages: unknown[] = [];
          const waiters: ((message: unknown) => void)[] = [];
          worker.on('message', (message) => {
            const waiter = waiters.shift();
            if (waiter === undefined) messages.push(message);
            else waiter(message);
          });
          const next = () =>
            new Promise<unknown>((resolve, reject) => {
              worker.once('error', reject);
              const message = messages.shift();
              if (message === undefined) waiters.push(resolve);
              else resolve(message);
            });
          return { worker, next };
        };
        const workers = [start('a'), start('b')];
        expect(await Promise.all(workers.map((worker) => worker.next()))).toEqual(['ready', 'ready']);
        for (const { worker } of workers) worker.postMessage('go');
        const [first, second] = (await Promise.all(workers.map((worker) => worker.next()))) as {
          ok: number;
          errors: string[];
        }[];
        if (first === undefined || second === undefined) throw new Error('A worker sent no result.');
        expect([...first.errors, ...second.errors]).toEqual([]);
        expect(first.ok + second.ok).toBe(10);
        expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({ availableMicros: 0 });
      });

      if (dialect.allowsStoresPerThread) {
        it('two stores (two pools) racing one balance still let exactly 10 through', async () => {
          const tenant = await newTenant();
          await fixture.store.billing.addCredits({
            orgId: tenant.orgId,
            amountMicros: 10 * amountMicros,
            now: 0,
          });
          const second = await fixture.database.open({ migrate: false });
          try {
            expect(await race([fixture.store, second], tenant, true)).toBe(10);
          } finally {
            await second.close();
          }
          expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({ availableMicros: 0 });
        });

        it('settling one event from two stores at once debits it once', async () => {
          const tenant = await newTenant();
          await fixture.store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 1_000, now: 0 });
          const reservation = reserveInput(tenant, 500);
          await fixture.store.billing.reserve(reservation);
          const second = await fixture.database.open({ migrate: false });
          const settle = {
            reservationId: reservation.reservationId,
            eventId: uniqueName('evt'),
            actualMicros: 400,
            now: 0,
          };
          try {
            const results = await Promise.all([
              ...Array.from({ length: 5 }, () => fixture.store.billing.settle(settle)),
              ...Array.from({ length: 5 }, () => second.billing.settle(settle)),
            ]);
            expect(results.filter((result) => result === 'settled')).toHaveLength(1);
          } finally {
            await second.close();
          }
          expect(await fixture.store.billing.getBalance(tenant.orgId)).toMatchObject({ balanceMicros: 600 });
        });
      }
    });
  });
}
