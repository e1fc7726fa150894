import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RequestEvent } from '#src/telemetry/request-event.js';
import { Spool, SpoolLockedError } from '#src/telemetry/spool.js';
import { encodeRecord } from '#src/telemetry/spool-record.js';
import { FakeStore, idRange, makeEvent, makeEvents, makeTempDir } from './fakes.js';

let temp: { dir: string; remove(): Promise<void> };
const opened: Spool[] = [];

beforeEach(async () => {
  temp = await makeTempDir();
});
afterEach(async () => {
  for (const spool of opened.splice(0)) await spool.close().catch(() => undefined);
  await temp.remove();
});

async function openSpool(options: Partial<Parameters<typeof Spool.open>[0]> = {}): Promise<Spool> {
  const spool = await Spool.open({ dir: temp.dir, maxBytes: 1024 * 1024, ...options });
  opened.push(spool);
  return spool;
}

async function segmentFiles(): Promise<string[]> {
  return (await readdir(temp.dir)).filter((name) => name.startsWith('segment-')).sort();
}

function recordBytes(events: RequestEvent[]): Buffer {
  return Buffer.concat(encodeRecord(events).parts);
}

describe('Spool', () => {
  it('journals batches that a new instance on the same directory replays in order', async () => {
    const first = await openSpool();
    for (const from of [1, 4, 7]) {
      expect(await first.append(makeEvents(from, 3))).toMatchObject({ status: 'appended' });
    }
    // No close: the process "crashed". A new instance must see everything.
    const second = await openSpool();
    expect(second.hasPending).toBe(true);
    const store = new FakeStore();
    expect(await second.replay(store)).toEqual({ batches: 3, events: 9 });
    expect(store.calls).toEqual([idRange(1, 3), idRange(4, 3), idRange(7, 3)]);
    expect(store.rows.get('evt_000005')).toEqual(makeEvent(5));
    expect(second.hasPending).toBe(false);
    expect(second.bytes).toBe(0);
    expect(await segmentFiles()).toEqual([]);
    await second.close();
    const third = await openSpool();
    expect(third.hasPending).toBe(false);
    expect(await third.peek()).toBeUndefined();
  });

  it('skips a torn final record left by a crash mid-write', async () => {
    const writer = await openSpool();
    await writer.append(makeEvents(1, 2));
    await writer.append(makeEvents(3, 2));
    const [segment] = await segmentFiles();
    const torn = recordBytes(makeEvents(5, 2));
    await appendFile(join(temp.dir, segment), torn.subarray(0, Math.floor(torn.length / 2)));

    const damaged: { offset: number; bytes: number }[] = [];
    const reader = await openSpool({ onDamagedRecord: (record) => damaged.push(record) });
    const store = new FakeStore();
    await reader.replay(store);
    expect(store.order).toEqual(idRange(1, 4));
    expect(damaged).toHaveLength(1);
    expect(damaged[0].bytes).toBe(Math.floor(torn.length / 2));
    expect(reader.hasPending).toBe(false);
    expect(await segmentFiles()).toEqual([]);
  });

  it('skips a damaged record in the middle and keeps the rest', async () => {
    const writer = await openSpool();
    for (const from of [1, 3, 5]) await writer.append(makeEvents(from, 2));
    await writer.close();
    const [segment] = await segmentFiles();
    const path = join(temp.dir, segment);
    const bytes = await readFile(path);
    const secondRecordStart = bytes.indexOf(0x0a) + 1;
    bytes[secondRecordStart + 40] ^= 0x01;
    await writeFile(path, bytes);

    const damaged: unknown[] = [];
    const reader = await openSpool({ onDamagedRecord: (record) => damaged.push(record) });
    const store = new FakeStore();
    await reader.replay(store);
    expect(store.order).toEqual([...idRange(1, 2), ...idRange(5, 2)]);
    expect(damaged).toHaveLength(1);
  });

  it('acknowledges a batch only after the sink accepted it, so a crash re-sends at most that batch', async () => {
    const writer = await openSpool();
    for (const from of [1, 3, 5, 7]) await writer.append(makeEvents(from, 2));
    const store = new FakeStore();
    let calls = 0;
    // Commits the second batch, then "crashes" before the spool records that it was accepted.
    const crashingSink = {
      async insertMany(events: RequestEvent[]) {
        calls++;
        await store.insertMany(events);
        if (calls === 2) throw new Error('process killed');
      },
    };
    await expect(writer.replay(crashingSink)).rejects.toThrow('process killed');

    const restarted = await openSpool();
    const replayed = await restarted.replay(store);
    expect(replayed).toEqual({ batches: 3, events: 6 });
    expect(store.calls.slice(2)).toEqual([idRange(3, 2), idRange(5, 2), idRange(7, 2)]);
    expect(store.order).toEqual(idRange(1, 8));
    expect(store.ignoredDuplicates).toBe(2);
  });

  it('keeps the failed batch pending when the sink rejects', async () => {
    const spool = await openSpool();
    await spool.append(makeEvents(1, 2));
    await spool.append(makeEvents(3, 2));
    const store = new FakeStore();
    store.mode = 'fail';
    await expect(spool.replay(store)).rejects.toThrow('store unavailable');
    store.mode = 'ok';
    await spool.replay(store);
    expect(store.order).toEqual(idRange(1, 4));
    expect(store.ignoredDuplicates).toBe(0);
  });

  it('refuses appends past maxBytes and accepts them again once replay frees space', async () => {
    const size = recordBytes(makeEvents(1, 2)).length;
    const spool = await openSpool({ maxBytes: size + 10 });
    expect(await spool.append(makeEvents(1, 2))).toMatchObject({ status: 'appended', bytes: size });
    expect(await spool.append(makeEvents(3, 2))).toEqual({ status: 'full' });
    expect(spool.bytes).toBe(size);
    await spool.replay(new FakeStore());
    expect(spool.bytes).toBe(0);
    expect(await spool.append(makeEvents(3, 2))).toMatchObject({ status: 'appended' });
  });

  it('rotates segments and deletes each once replayed, resuming after a restart', async () => {
    const size = recordBytes(makeEvents(1, 2)).length;
    const spool = await openSpool({ segmentMaxBytes: size * 2 });
    for (let from = 1; from <= 9; from += 2) await spool.append(makeEvents(from, 2));
    expect(await segmentFiles()).toHaveLength(3);

    const store = new FakeStore();
    for (let count = 0; count < 3; count++) {
      const batch = await spool.peek();
      if (!batch) throw new Error('expected a batch');
      expect(await spool.peek()).toBe(batch);
      await store.insertMany(batch.events);
      await spool.ack(batch);
    }
    expect(await segmentFiles()).toHaveLength(2);
    expect(spool.bytes).toBe(size * 2 + recordBytes(makeEvents(9, 2)).length);

    const restarted = await openSpool({ segmentMaxBytes: size * 2 });
    await restarted.replay(store);
    expect(store.order).toEqual(idRange(1, 10));
    expect(store.ignoredDuplicates).toBe(0);
    // New appends after a restart never land in a segment an older cursor already passed.
    await restarted.append(makeEvents(11, 2));
    const again = await openSpool();
    await again.replay(store);
    expect(store.order).toEqual(idRange(1, 12));
  });

  it('reads records larger than its read chunk, one batch in memory at a time', async () => {
    const spool = await openSpool({ maxBytes: 10 * 1024 * 1024 });
    const big = makeEvents(1, 3).map((event, index) => ({
      ...event,
      response_body: 'x'.repeat(150_000 + index),
    }));
    await spool.append(big);
    await spool.append(makeEvents(4, 1));
    const store = new FakeStore();
    await (await openSpool({ maxBytes: 10 * 1024 * 1024 })).replay(store);
    expect(store.order).toEqual(idRange(1, 4));
    expect(store.rows.get('evt_000003')?.response_body).toHaveLength(150_002);
  });

  it('carries the billing settlement with the spooled event', async () => {
    const spool = await openSpool();
    const settlement = { reservation_id: 'rsv_1', actual_usd_micros: 1234 };
    await spool.append([makeEvent(1, { settlement })]);
    const store = new FakeStore();
    await spool.replay(store);
    expect(store.rows.get('evt_000001')?.settlement).toEqual(settlement);
  });

  it('leaves out an event that cannot be serialized instead of blocking its batch', async () => {
    const spool = await openSpool();
    const bad = makeEvent(2, { metadata: { amount: 10n } });
    const result = await spool.append([makeEvent(1), bad, makeEvent(3)]);
    expect(result).toMatchObject({ status: 'appended', unserializable: 1 });
    const store = new FakeStore();
    await spool.replay(store);
    expect(store.order).toEqual(['evt_000001', 'evt_000003']);
  });

  it('refuses a directory locked by another live process and takes over a stale lock', async () => {
    await writeFile(join(temp.dir, 'spool.lock'), String(process.ppid));
    await expect(Spool.open({ dir: temp.dir, maxBytes: 1024 })).rejects.toBeInstanceOf(SpoolLockedError);
    await writeFile(join(temp.dir, 'spool.lock'), '4194305');
    const spool = await openSpool();
    expect(await readFile(join(temp.dir, 'spool.lock'), 'utf8')).toBe(String(process.pid));
    await spool.close();
    await expect(readdir(temp.dir)).resolves.not.toContain('spool.lock');
  });
});
