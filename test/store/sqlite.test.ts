import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateStore } from '#src/store/create-store.js';
import type { NewRowWriter, OpenedDatabase } from '#src/store/dialect-profile.js';
import { toEventRow } from '#src/store/request-event-rows.js';
import { openSqlite } from '#src/store/sqlite.js';
import type { RequestEvent } from '#src/telemetry/request-event.js';

function rowOf(id: string, overrides: Partial<RequestEvent> = {}) {
  return toEventRow({
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
  });
}

describe('SQLite batch writer', () => {
  let directory = '';
  let opened: OpenedDatabase;
  let writeNewRows: NewRowWriter;
  const statements: string[] = [];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'mgw-sqlite-'));
    const url = `sqlite:${join(directory, 'maniac.db')}`;
    await migrateStore(url);
    opened = openSqlite(url, (query) => statements.push(query.sql));
    if (opened.writeNewRows === undefined) throw new Error('SQLite has its own batch writer.');
    writeNewRows = opened.writeNewRows;
  });
  afterAll(async () => {
    await opened?.db.destroy();
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
