/**
 * The SQLite writer thread (decision 0013), started by `SqliteWriterThread`. It opens its own
 * connection to the store's file and writes the request log's batches and their charges there, one
 * request at a time in the order they came, so that the main thread's event loop never runs them.
 * It loads only the write path (better-sqlite3, Kysely and a few store modules), not the gateway.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { checkpointIfLarge, openSqliteConnection, sqliteBatchWriter } from './sqlite.js';
import { type ChargingBatch, joinChargingBatches } from './sqlite-charging-insert.js';
import type {
  QueryEvent,
  StageMessage,
  WriterMessage,
  WriterReply,
  WriterRequest,
  WriterThreadOptions,
} from './sqlite-writer.js';

if (parentPort === null) throw new Error('sqlite-writer-thread runs in a worker thread.');
const port: MessagePort = parentPort;
const options = workerData as WriterThreadOptions;

let queries: QueryEvent[] = [];
const connection = openSqliteConnection(options.path, {
  onQuery: options.shouldReportQueries ? (query) => queries.push(query) : undefined,
});
const writer = sqliteBatchWriter(connection);
const walPath = `${options.path}-wal`;

/** Parts of batches posted ahead of their write, by staged id. */
const staged = new Map<number, ChargingBatch[]>();

function withStagedParts(request: Extract<WriterRequest, { kind: 'insert-charging' }>): ChargingBatch {
  if (request.staged === undefined) return request.batch;
  const parts = staged.get(request.staged.id) ?? [];
  // Parts of batches given up on (their write never came) go too: ids only grow.
  for (const id of staged.keys()) if (id <= request.staged.id) staged.delete(id);
  if (parts.length !== request.staged.parts) {
    throw new Error(`A batch came with ${parts.length} of its ${request.staged.parts} staged parts.`);
  }
  return joinChargingBatches([...parts, request.batch]);
}

function run(request: WriterRequest): Promise<unknown> {
  switch (request.kind) {
    case 'insert-events':
      return writer.insertEvents(request.events);
    case 'charge':
      return writer.chargeMany(request.inputs, request.now);
    case 'insert-charging':
      return connection.insertCharging(withStagedParts(request));
    case 'close':
      // What the batches left in the WAL goes to the database file here; the main thread's
      // connection, closed last, checkpoints whatever a reader kept this one from copying.
      connection.database.pragma('wal_checkpoint(PASSIVE)');
      return connection.close();
  }
}

function errorOf(error: unknown): Extract<WriterReply, { ok: false }>['error'] {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}

async function answer(message: WriterMessage): Promise<void> {
  queries = [];
  let reply: WriterReply;
  try {
    reply = { id: message.id, ok: true, value: await run(message) };
  } catch (error) {
    reply = { id: message.id, ok: false, error: errorOf(error) };
  }
  if (options.shouldReportQueries) reply.queries = queries;
  try {
    port.postMessage(reply);
  } catch (error) {
    port.postMessage({ id: message.id, ok: false, error: errorOf(error) } satisfies WriterReply);
  }
  if (message.kind === 'close') {
    port.close();
    return;
  }
  // After the answer: the main thread goes on while the WAL is copied back.
  checkpointIfLarge(connection.database, walPath);
}

let queue = Promise.resolve();
port.on('message', (message: WriterMessage | StageMessage) => {
  if (message.kind === 'stage') {
    const parts = staged.get(message.stagedId);
    if (parts) parts.push(message.batch);
    else staged.set(message.stagedId, [message.batch]);
    return;
  }
  queue = queue.then(() => answer(message));
});
