/**
 * The request log's write on SQLite, alone: `requestEvents.insertMany` of realistic events into a
 * fresh temporary file, batch after batch, as the telemetry batcher calls it.
 *
 *   npx tsx bench/store-insert.ts [--batches 20] [--size 500]
 *
 * Prints wall-clock and CPU µs per event over all batches, and the longest single batch: better-sqlite3
 * is synchronous, so that is about how long the gateway's main thread stalls on one flush. CPU time
 * (the process's, from `process.cpuUsage`) holds up better than wall-clock on a busy machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createStore } from '#src/store/create-store.js';
import type { RequestEvent } from '#src/telemetry/request-event.js';

const { values } = parseArgs({
  options: { batches: { type: 'string', default: '20' }, size: { type: 'string', default: '500' } },
});
const batches = Number(values.batches);
const size = Number(values.size);

function eventOf(index: number): RequestEvent {
  const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
  return {
    id,
    request_id: `req_${randomBytes(12).toString('hex')}`,
    ts: Date.now() + index,
    endpoint: 'chat.completions',
    org_id: 'org_bench',
    project_id: 'proj_bench',
    key_id: 'key_bench',
    user_agent: 'autocannon',
    client_ip: '127.0.0.1',
    model_requested: 'bare/echo',
    model: 'bare/echo',
    provider: 'openai-compatible',
    upstream_model: 'echo',
    upstream_id: 'chatcmpl-upstream',
    container: null,
    attempts: [
      { model: 'bare/echo', provider: 'openai-compatible', status: 200, error_code: null, latency_ms: 1.7 },
    ],
    status: 200,
    outcome: 'success',
    error_type: null,
    error_code: null,
    stream: false,
    finish_reason: 'stop',
    latency_ms: 2.4,
    ttft_ms: null,
    upstream_latency_ms: 1.7,
    gateway_overhead_us: 480,
    usage: {
      prompt_tokens: 12,
      completion_tokens: 9,
      total_tokens: 21,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
    },
    usage_source: 'upstream',
    cost_usd: 0.000021,
    reserved_usd: 0.0004,
    tags: ['bench'],
    metadata: { run: 'store-insert' },
    trace: null,
    store: true,
    request_body: { model: 'bare/echo', messages: [{ role: 'user', content: 'Say hello in one word.' }] },
    response_body: {
      id,
      object: 'chat.completion',
      created: 1_750_000_000,
      model: 'echo',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
    },
  };
}

const directory = mkdtempSync(join(tmpdir(), 'mgw-store-insert-'));
const store = await createStore(`sqlite:${join(directory, 'bench.db')}`);
try {
  // One warm-up batch: statement preparation and JIT, not the steady state.
  await store.requestEvents.insertMany(Array.from({ length: size }, (_, index) => eventOf(index)));
  const prepared = Array.from({ length: batches }, () =>
    Array.from({ length: size }, (_, index) => eventOf(index)),
  );
  let totalMs = 0;
  let longestMs = 0;
  let totalCpuUs = 0;
  let longestCpuUs = 0;
  for (const batch of prepared) {
    const startedCpu = process.cpuUsage();
    const started = performance.now();
    const { inserted } = await store.requestEvents.insertMany(batch);
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(startedCpu);
    if (inserted !== batch.length) throw new Error(`Inserted ${inserted} of ${batch.length}.`);
    totalMs += elapsedMs;
    longestMs = Math.max(longestMs, elapsedMs);
    totalCpuUs += cpu.user + cpu.system;
    longestCpuUs = Math.max(longestCpuUs, cpu.user + cpu.system);
  }
  const events = batches * size;
  console.log(
    `${batches} batches × ${size} events: wall ${((totalMs * 1_000) / events).toFixed(2)} µs/event, ` +
      `CPU ${(totalCpuUs / events).toFixed(2)} µs/event; longest batch wall ${longestMs.toFixed(2)} ms, ` +
      `CPU ${(longestCpuUs / 1_000).toFixed(2)} ms`,
  );
} finally {
  await store.close();
  rmSync(directory, { recursive: true, force: true });
}
