import type { EventSink } from './event-sink.js';
import type { RequestEvent } from './request-event.js';

/** The store's `requestEvents.insertMany`: insert-or-ignore by event id. */
export interface EventTable {
  insertMany(events: readonly RequestEvent[]): Promise<unknown>;
}

/** A settlement as the request log hands it over: the event's reservation, cost and payer. */
export interface Settlement {
  reservationId: string;
  eventId: string;
  actualMicros: number;
  /** The event's time: the spend belongs to its budget periods. */
  now: number;
  /**
   * The payer, for ledgers that hold reservations in memory and charge without a stored row; `null`
   * only for events without a caller, which never carry a settlement.
   */
  orgId: string | null;
  projectId: string | null;
  keyId: string | null;
}

/** A reservation ledger's `settleMany`: idempotent by `eventId`; rejects only when the store is unavailable. */
export interface SettlementLedger {
  settleMany(inputs: readonly Settlement[]): Promise<unknown>;
}

function settlementsOf(events: readonly RequestEvent[]): Settlement[] {
  const settlements: Settlement[] = [];
  for (const event of events) {
    if (!event.settlement) continue;
    settlements.push({
      reservationId: event.settlement.reservation_id,
      eventId: event.id,
      actualMicros: event.settlement.actual_usd_micros,
      // The spend belongs to the request's budget period, even when settled on replay after an outage.
      now: event.ts,
      orgId: event.org_id,
      projectId: event.project_id,
      keyId: event.key_id,
    });
  }
  return settlements;
}

/**
 * The sink the batcher writes to: stores the batch, then applies the settlements riding with its
 * events (SPEC §8.2). Both steps are idempotent by event id, so a batch retried after any failure,
 * or replayed from the spool, stores and charges each event once.
 */
export function createSettlingSink(table: EventTable, ledger: SettlementLedger): EventSink {
  return {
    async insertMany(events) {
      await table.insertMany(events);
      const settlements = settlementsOf(events);
      // One transaction for the whole batch's settlements.
      if (settlements.length > 0) await ledger.settleMany(settlements);
    },
  };
}

/** A store that writes a batch and the charges riding on it together (`requestEvents.insertManyCharging`). */
export interface ChargingEventTable<Written> {
  insertManyCharging(events: readonly RequestEvent[], now: number): Promise<Written>;
}

/** A ledger whose settlements are charged by the store's write of the batch itself. */
export interface ChargingLedger<Written> {
  /** Runs `write` (which charges `settlements`) and then releases what they held. */
  settleWritten(
    settlements: readonly Settlement[],
    write: (now: number) => Promise<Written>,
  ): Promise<unknown>;
}

/**
 * The sink for a ledger that holds reservations in memory (decision 0014): one store write stores
 * the batch and charges the settlements of the events it stored, idempotent by event id; the ledger
 * releases their holds once it has committed.
 */
export function createChargingSink<Written>(
  table: ChargingEventTable<Written>,
  ledger: ChargingLedger<Written>,
): EventSink {
  return {
    async insertMany(events) {
      await ledger.settleWritten(settlementsOf(events), (now) => table.insertManyCharging(events, now));
    },
  };
}
