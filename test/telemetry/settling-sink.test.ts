import { describe, expect, it } from 'vitest';
import { createSettlingSink } from '#src/telemetry/settling-sink.js';
import { FakeStore, idRange, makeEvent } from './fakes.js';

/** Settles once per event id, like `billing.settle`; fails on demand. */
class FakeLedger {
  isFailing = false;
  readonly settled = new Map<string, unknown>();
  attempts = 0;

  async settleMany(
    inputs: readonly {
      reservationId: string;
      eventId: string;
      actualMicros: number;
      now: number;
      orgId: string | null;
    }[],
  ) {
    this.attempts++;
    if (this.isFailing) throw new Error('billing store unavailable');
    return inputs.map((input) => {
      if (this.settled.has(input.eventId)) return 'duplicate';
      this.settled.set(input.eventId, input);
      return 'settled';
    });
  }
}

describe('createSettlingSink', () => {
  it('stores the batch and settles each event that carries a settlement, once, across retries', async () => {
    const table = new FakeStore();
    const ledger = new FakeLedger();
    const sink = createSettlingSink(table, ledger);
    const batch = [
      makeEvent(1, { settlement: { reservation_id: 'rsv_1', actual_usd_micros: 120 } }),
      makeEvent(2),
      makeEvent(3, { settlement: { reservation_id: 'rsv_3', actual_usd_micros: 300 } }),
    ];
    ledger.isFailing = true;
    await expect(sink.insertMany(batch)).rejects.toThrow('billing store unavailable');
    ledger.isFailing = false;
    await sink.insertMany(batch);
    await sink.insertMany(batch);

    expect(table.order).toEqual(idRange(1, 3));
    expect([...ledger.settled.keys()]).toEqual(['evt_000001', 'evt_000003']);
    expect(ledger.settled.get('evt_000003')).toEqual({
      reservationId: 'rsv_3',
      eventId: 'evt_000003',
      actualMicros: 300,
      now: batch[2].ts,
      orgId: batch[2].org_id,
      projectId: batch[2].project_id,
      keyId: batch[2].key_id,
    });
  });
});
