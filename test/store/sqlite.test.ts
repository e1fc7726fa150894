import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStore, migrateStore } from '#src/store/create-store.js';
import type { ChargeInput } from '#src/store/repositories.js';
import { toEventRow } from '#src/store/request-event-rows.js';
import {
  type NewRowWriter,
  openSqlite,
  openSqliteConnection,
  type SqliteConnection,
  walCheckpointPages,
} from '#src/store/sqlite.js';
import { postPartEvents, SqliteWriterThread } from '#src/store/sqlite-writer.js';
import type { RequestEvent } from '#src/telemetry/request-event.js';

function eventOf(id: string, overrides: Partial<RequestEvent> = {}): RequestEvent {
  return {
    id,
    request_id: `req_${id}`,
    ts: Date.UTC(2025, 5, 10),
    endpoint: 'chat.completions',
    org_id: 'org_sqlite',
    project_id: 'proj_sqlite',
    key_id: null,
    user_agent: null,
    client_ip: null,
    model_requested: null,
    model: null,
    provider: null,
    upstream_model: null,
    upstream_id: null,
    container: null,
    attempts: [],
    status: 200,
    outcome: 'success',
    error_type: null,
    error_code: null,
    stream: false,
    finish_reason: null,
    latency_ms: 1,
    ttft_ms: null,
    upstream_latency_ms: null,
    gateway_overhead_us: null,
    usage: null,
    usage_source: null,
    cost_usd: null,
    reserved_usd: null,
    tags: [],
    metadata: null,
    trace: null,
    store: false,
    request_body: null,
    response_body: null,
    ...overrides,
  };
}

function rowOf(id: string, overrides: Partial<RequestEvent> = {}) {
  return toEventRow(eventOf(id, overrides));
}

describe('SQLite batch writer', () => {
  let directory = '';
  let opened: SqliteConnection;
  let writeNewRows: NewRowWriter;
  const statements: string[] = [];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'mgw-sqlite-'));
    const path = join(directory, 'maniac.db');
    await migrateStore(`sqlite:${path}`);
    opened = openSqliteConnection(path, { onQuery: (query) => statements.push(query.sql) });
    writeNewRows = opened.writeNewRows;
  });
  afterAll(async () => {
    await opened?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  const storedIds = async (ids: string[]) =>
    (
      await opened.db.selectFrom('request_events').select('id').where('id', 'in', ids).orderBy('id').execute()
    ).map((row) => row.id);

  it('inserts new rows, skips stored ids, and reports one statement per batch', async () => {
    statements.length = 0;
    expect(await writeNewRows('request_events', [rowOf('w-1'), rowOf('w-2')])).toBe(2);
    expect(await writeNewRows('request_events', [rowOf('w-2'), rowOf('w-3'), rowOf('w-3')])).toBe(1);
    expect(await writeNewRows('request_events', [])).toBe(0);
    expect(await storedIds(['w-1', 'w-2', 'w-3'])).toEqual(['w-1', 'w-2', 'w-3']);
    expect(statements.filter((sql) => sql.startsWith('insert into "request_events"'))).toHaveLength(2);
  });

  it('stores nothing of a batch with a refused row, and rejects with the engine error', async () => {
    // A spooled event from an older build could lack a required field; the row type cannot say so.
    const refused = { ...rowOf('w-refused'), endpoint: null } as unknown as ReturnType<typeof rowOf>;
    await expect(writeNewRows('request_events', [rowOf('w-before'), refused])).rejects.toMatchObject({
      code: 'SQLITE_CONSTRAINT_NOTNULL',
    });
    expect(await storedIds(['w-before', 'w-refused'])).toEqual([]);
  });

  it('waits for an open Kysely transaction on the same connection instead of joining it', async () => {
    let writing: Promise<number> | undefined;
    await expect(
      opened.db.transaction().execute(async (trx) => {
        await trx.insertInto('request_events').values(rowOf('w-in-transaction')).execute();
        writing = writeNewRows('request_events', [rowOf('w-batch')]);
        // Still this transaction's turn: the batch has not run in between.
        expect(
          (await trx.selectFrom('request_events').select('id').where('id', '=', 'w-batch').execute()).length,
        ).toBe(0);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await writing).toBe(1);
    // The batch committed on its own; the rolled-back transaction took nothing of it along.
    expect(await storedIds(['w-batch', 'w-in-transaction'])).toEqual(['w-batch']);
  });
});

describe('SQLite writer thread', () => {
  let directory = '';
  let path = '';
  let opened: ReturnType<typeof openSqlite>;
  let writer: SqliteWriterThread;
  const statements: string[] = [];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'mgw-writer-'));
    path = join(directory, 'maniac.db');
    await migrateStore(`sqlite:${path}`);
    opened = openSqlite(`sqlite:${path}`, (query) => statements.push(query.sql));
    if (!(opened.batchWriter instanceof SqliteWriterThread)) throw new Error('A file has a writer thread.');
    writer = opened.batchWriter;
    await opened.db
      .insertInto('organizations')
      .values({
        id: 'org_writer',
        name: 'writer',
        disabled_at: null,
        rate_limit: null,
        token_rate_limit: null,
        created_at: 0,
      })
      .execute();
    await opened.db
      .insertInto('billing_accounts')
      .values({ org_id: 'org_writer', balance_micros: 1_000_000, configured_at: 0, updated_at: 0 })
      .execute();
  });
  afterAll(async () => {
    await opened?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /** A second connection holding SQLite's write lock, as another process would. */
  let blocker: BetterSqlite3.Database | undefined;
  const holdWriteLock = () => {
    blocker = new BetterSqlite3(path);
    blocker.exec('begin immediate');
  };
  const releaseWriteLock = () => {
    blocker?.exec('rollback');
    blocker?.close();
    blocker = undefined;
  };
  afterEach(releaseWriteLock);

  const storedIds = async (ids: string[]) =>
    (
      await opened.db.selectFrom('request_events').select('id').where('id', 'in', ids).orderBy('id').execute()
    ).map((row) => row.id);
  const isSettled = (promise: Promise<unknown>) => {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    return () => settled;
  };

  it('starts at the first write, on a thread of its own, and hands its statements to onQuery', async () => {
    expect(writer.threadId).toBeUndefined();
    statements.length = 0;
    expect(await writer.insertEvents([eventOf('t-first')])).toEqual({ inserted: 1, rejected: [] });
    expect(writer.threadId).toEqual(expect.any(Number));
    expect(writer.threadId).not.toBe(threadId);
    expect(statements.filter((sql) => sql.startsWith('insert into "request_events"'))).toHaveLength(1);
  });

  it('keeps the main thread and its connection free while a write waits for the database lock', async () => {
    holdWriteLock();
    const writing = writer.insertEvents([eventOf('t-waiting')]);
    const isWritten = isSettled(writing);
    // A synchronous write on this thread would sit in SQLite's busy handler until the lock came free.
    expect(await storedIds(['t-waiting'])).toEqual([]);
    expect(isWritten()).toBe(false);
    releaseWriteLock();
    expect(await writing).toEqual({ inserted: 1, rejected: [] });
    expect(await storedIds(['t-waiting'])).toEqual(['t-waiting']);
  });

  it("makes a main-thread write wait for the thread's in the event loop, not in SQLite's busy handler", async () => {
    holdWriteLock();
    const writing = writer.insertEvents([eventOf('t-ahead')]);
    const mainWrite = opened.db
      .insertInto('organizations')
      .values({
        id: 'org_behind',
        name: 'behind',
        disabled_at: null,
        rate_limit: null,
        token_rate_limit: null,
        created_at: 0,
      })
      .execute();
    const isMainWritten = isSettled(mainWrite);
    // Waiting inside SQLite would hold this thread until the busy timeout, then fail.
    await nextTurn();
    expect(isMainWritten()).toBe(false);
    releaseWriteLock();
    await Promise.all([writing, mainWrite]);
    expect(await storedIds(['t-ahead'])).toEqual(['t-ahead']);
  });

  it('refuses alone an event that cannot be copied to the thread', async () => {
    const uncopyable = eventOf('t-function', { metadata: { callback: () => undefined } });
    const result = await writer.insertEvents([eventOf('t-plain'), uncopyable]);
    expect(result).toEqual({ inserted: 1, rejected: [{ id: 't-function', reason: expect.any(String) }] });
  });

  it('rejects what a thread that died was asked; the next write starts another and a retry writes once', async () => {
    await writer.insertEvents([eventOf('t-before-crash')]);
    const crashedThread = writer.threadId;
    const batch = ['t-crash-1', 't-crash-2', 't-crash-3'].map((id) => eventOf(id, { org_id: 'org_writer' }));
    const charges: ChargeInput[] = batch.map((event) => ({
      eventId: event.id,
      orgId: 'org_writer',
      projectId: null,
      keyId: null,
      actualMicros: 1_000,
      now: 0,
    }));

    holdWriteLock();
    const writing = writer.insertEvents(batch);
    await nextTurn();
    const stopping = writer.terminate();
    releaseWriteLock();
    await expect(writing).rejects.toThrow('SQLite writer thread stopped');
    await stopping;
    expect(writer.threadId).toBeUndefined();

    // The batcher spools the batch and replays it: each event is stored once, whatever committed.
    expect((await writer.insertEvents(batch)).rejected).toEqual([]);
    expect(writer.threadId).toEqual(expect.any(Number));
    expect(writer.threadId).not.toBe(crashedThread);
    expect(await storedIds(batch.map((event) => event.id))).toEqual(['t-crash-1', 't-crash-2', 't-crash-3']);

    holdWriteLock();
    const charging = writer.chargeMany(charges, 0);
    await nextTurn();
    const stoppingAgain = writer.terminate();
    releaseWriteLock();
    await expect(charging).rejects.toThrow('SQLite writer thread stopped');
    await stoppingAgain;

    const replayed = await writer.chargeMany(charges, 0);
    expect(replayed.results).toHaveLength(3);
    expect(replayed.snapshots).toEqual([
      {
        orgId: 'org_writer',
        orgExists: true,
        account: { balanceMicros: 997_000, isConfigured: true },
        budgets: [],
        readAt: 0,
      },
    ]);
    const again = await writer.chargeMany(charges, 0);
    expect(again.results).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(again.snapshots[0]?.account?.balanceMicros).toBe(997_000);
  });

  describe('a batch with its charges (decision 0014)', () => {
    const balance = async () =>
      Number(
        (
          await opened.db
            .selectFrom('billing_accounts')
            .select('balance_micros')
            .where('org_id', '=', 'org_writer')
            .executeTakeFirstOrThrow()
        ).balance_micros,
      );
    const debitedIds = async (ids: string[]) =>
      (
        await opened.db
          .selectFrom('billing_ledger')
          .select('event_id')
          .where('event_id', 'in', ids)
          .orderBy('event_id')
          .execute()
      ).map((row) => row.event_id);
    const charged = (id: string, actualMicros: number, overrides: Partial<RequestEvent> = {}) =>
      eventOf(id, {
        org_id: 'org_writer',
        settlement: { reservation_id: `rsv_${id}`, actual_usd_micros: actualMicros },
        ...overrides,
      });

    it('charges what one transaction stored; a thread that died before answering leaves a replay to charge once', async () => {
      const before = await balance();
      const batch = [charged('t-paid-1', 2_000), charged('t-paid-2', 500)];
      holdWriteLock();
      const writing = writer.insertEventsCharging(batch, [], 0);
      await nextTurn();
      const stopping = writer.terminate();
      releaseWriteLock();
      await expect(writing).rejects.toThrow('SQLite writer thread stopped');
      await stopping;

      const replayed = await writer.insertEventsCharging(batch, [], 0);
      expect(replayed).toEqual({
        inserted: 2,
        rejected: [],
        snapshots: [
          expect.objectContaining({
            orgId: 'org_writer',
            account: { balanceMicros: before - 2_500, isConfigured: true },
          }),
        ],
      });
      const again = await writer.insertEventsCharging(batch, [], 0);
      expect(again.inserted).toBe(0);
      expect(again.snapshots[0]?.account?.balanceMicros).toBe(before - 2_500);
      // The stored event is the charge's record: no debit row is written for it.
      expect(await debitedIds(['t-paid-1', 't-paid-2'])).toEqual([]);
    });

    it('posts a long batch in parts, and refuses it whole when the thread died between its parts', async () => {
      const before = await balance();
      const batch = Array.from({ length: 2 * postPartEvents + 5 }, (_, index) =>
        charged(`t-part-${index}`, 10),
      );
      const writing = writer.insertEventsCharging(batch, [], 0);
      // The first part is out; the thread dies before the rest and the write come.
      const stopping = writer.terminate();
      await expect(writing).rejects.toThrow();
      await stopping;
      expect(await storedIds(batch.map((event) => event.id))).toEqual([]);

      const result = await writer.insertEventsCharging(batch, [], 0);
      expect(result).toMatchObject({ inserted: batch.length, rejected: [] });
      expect(result.snapshots[0]?.account?.balanceMicros).toBe(before - 10 * batch.length);
      expect((await storedIds(batch.map((event) => event.id))).length).toBe(batch.length);
    });

    it('stores long bodies moved to the thread as bytes as the same text, in staged parts too, and a retry remakes them', async () => {
      const prompt = `Grüße, 世界 🚀 "quoted" \\ ${'long prompt '.repeat(2_000)}`;
      const bodyOf = (index: number) => ({ messages: [{ role: 'user', content: `${index} ${prompt}` }] });
      const batch = Array.from({ length: postPartEvents + 3 }, (_, index) =>
        charged(`t-bytes-${index}`, 1, {
          store: true,
          request_body: bodyOf(index),
          response_body: index % 2 === 0 ? { text: 'short' } : bodyOf(-index),
        }),
      );
      const writing = writer.insertEventsCharging(batch, [], 0);
      const stopping = writer.terminate();
      await expect(writing).rejects.toThrow();
      await stopping;
      expect(await writer.insertEventsCharging(batch, [], 0)).toMatchObject({
        inserted: batch.length,
        rejected: [],
      });
      const rows = await opened.db
        .selectFrom('request_events')
        .select(['id', 'request_body', 'response_body'])
        .where(
          'id',
          'in',
          batch.map((event) => event.id),
        )
        .execute();
      expect(rows).toHaveLength(batch.length);
      for (const row of rows) {
        const index = Number(row.id.replace('t-bytes-', ''));
        expect(typeof row.request_body).toBe('string');
        expect(JSON.parse(row.request_body as string)).toEqual(bodyOf(index));
        expect(JSON.parse(row.response_body as string)).toEqual(
          index % 2 === 0 ? { text: 'short' } : bodyOf(-index),
        );
      }
    });

    it('charges an event refused before or by the database through a debit row, once', async () => {
      const before = await balance();
      // JSON has no BigInt: this event cannot be made a row.
      const unstorable = charged('t-paid-fn', 300, { metadata: { count: 1n } });
      const refused = charged('t-paid-null', 40, { endpoint: null as unknown as string });
      const batch = [charged('t-paid-3', 1_000), unstorable, refused];
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const result = await writer.insertEventsCharging(batch, [], 0);
        expect(result.inserted).toBe(attempt === 0 ? 1 : 0);
        expect(result.rejected.map((rejection) => rejection.id)).toEqual(['t-paid-fn', 't-paid-null']);
        expect(result.snapshots[0]?.account?.balanceMicros).toBe(before - 1_340);
      }
      expect(await debitedIds(['t-paid-3', 't-paid-fn', 't-paid-null'])).toEqual([
        't-paid-fn',
        't-paid-null',
      ]);
      expect(await storedIds(['t-paid-3', 't-paid-fn', 't-paid-null'])).toEqual(['t-paid-3']);
    });
  });

  it('keeps the WAL bounded: the thread checkpoints once it passes the limit', async () => {
    const probe = new BetterSqlite3(path);
    const limitBytes = walCheckpointPages * Number(probe.pragma('page_size', { simple: true }));
    probe.close();
    const body = { messages: [{ role: 'user', content: 'x'.repeat(20_000) }] };
    // About 3 times the limit in all, in batches of about a fifth of it.
    for (let batch = 0; batch < 15; batch += 1) {
      const events = Array.from({ length: 40 }, (_, index) =>
        eventOf(`t-wal-${batch}-${index}`, { request_body: body }),
      );
      expect((await writer.insertEvents(events)).inserted).toBe(40);
    }
    expect(statSync(`${path}-wal`).size).toBeLessThan(limitBytes * 1.5);
  });
});

describe('SQLite store close', () => {
  it('lets a write in flight finish, checkpoints the WAL and ends the writer thread', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'mgw-writer-close-'));
    const path = join(directory, 'maniac.db');
    try {
      await migrateStore(`sqlite:${path}`);
      const opened = openSqlite(`sqlite:${path}`);
      const writer = opened.batchWriter;
      if (!(writer instanceof SqliteWriterThread)) throw new Error('A file has a writer thread.');
      await writer.insertEvents([eventOf('c-first')]);
      const inFlight = writer.insertEvents(['c-1', 'c-2'].map((id) => eventOf(id)));
      await opened.close();
      expect(writer.threadId).toBeUndefined();
      expect(await inFlight).toEqual({ inserted: 2, rejected: [] });
      await expect(writer.insertEvents([eventOf('c-late')])).rejects.toThrow('closed');
      expect(existsSync(`${path}-wal`)).toBe(false);

      const reader = new BetterSqlite3(path, { readonly: true });
      try {
        expect(reader.prepare('select count(*) from request_events').pluck().get()).toBe(3);
      } finally {
        reader.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('ends the thread of every store it closed: opening and closing stores leaks no thread', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'mgw-writer-cycle-'));
    // Linux lists a process's threads; elsewhere the writer's own `threadId` test above stands alone.
    const threadCount = () => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : 0);
    const cycle = async (index: number) => {
      const store = await createStore(`sqlite:${join(directory, 'maniac.db')}`);
      expect(await store.requestEvents.insertMany([eventOf(`cycle-${index}`)])).toEqual({
        inserted: 1,
        rejected: [],
      });
      await store.close();
    };
    try {
      await cycle(0);
      const threadsBefore = threadCount();
      for (let index = 1; index <= 3; index += 1) await cycle(index);
      expect(threadCount()).toBe(threadsBefore);
      expect(existsSync(join(directory, 'maniac.db-wal'))).toBe(false);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
