/**
 * The request log's write on SQLite, alone: `requestEvents.insertMany` of realistic events into a
 * fresh temporary file, batch after batch, as the telemetry batcher calls it, and with `--charges`
 * `requestEvents.insertManyCharging` instead, as the charging sink does (decision 0014).
 *
 *   npx tsx bench/store-insert.ts [--batches 20] [--size 500] [--charges]
 *
 * Prints wall-clock and CPU µs per event over all batches (CPU is the process's, every thread), and
 * what the main thread spent: its event loop's busy time per batch (`eventLoopUtilization`) and the
 * longest the loop was held up (`monitorEventLoopDelay`, its max). With the writer thread
 * (decision 0013) the main thread only posts the batch; the write itself shows in wall-clock and CPU.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ids } from '#src/ids.js';
import { createStore } from '#src/store/create-store.js';
import type { RequestEvent } from '#src/telemetry/request-event.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '20' },
    size: { type: 'string', default: '500' },
    charges: { type: 'boolean', default: false },
  },
});
const batches = Number(values.batches);
const size = Number(values.size);

function eventOf(index: number): RequestEvent {
  const id = ids.chatCompletion();
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
  const { organization, defaultProject } = await store.organizations.create({ name: 'bench' });
  const key = await store.apiKeys.create({
    orgId: organization.id,
    name: 'bench',
    hash: 'bench',
    prefix: 'mk_bench',
  });
  const tenantOf = (event: RequestEvent): RequestEvent => ({
    ...event,
    org_id: organization.id,
    project_id: defaultProject.id,
    key_id: key.id,
  });
  const write = async (batch: RequestEvent[]): Promise<number> => {
    if (!values.charges) return (await store.requestEvents.insertMany(batch)).inserted;
    const charged = batch.map((event) => ({
      ...event,
      settlement: { reservation_id: `rsv_${event.id}`, actual_usd_micros: 21 },
    }));
    return (await store.requestEvents.insertManyCharging(charged, Date.now())).inserted;
  };
  // One warm-up batch: statement preparation and JIT (and the writer thread's start), not the steady state.
  await write(Array.from({ length: size }, (_, index) => tenantOf(eventOf(index))));
  const prepared = Array.from({ length: batches }, () =>
    Array.from({ length: size }, (_, index) => tenantOf(eventOf(index))),
  );
  let totalMs = 0;
  let longestMs = 0;
  let totalCpuUs = 0;
  let longestCpuUs = 0;
  let totalMainMs = 0;
  let longestMainMs = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  for (const batch of prepared) {
    // The batcher writes from a timer: the event loop turns between batches, as it does here.
    await nextTurn();
    const startedLoop = performance.eventLoopUtilization();
    const startedCpu = process.cpuUsage();
    const started = performance.now();
    const inserted = await write(batch);
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(startedCpu);
    const mainMs = performance.eventLoopUtilization(startedLoop).active;
    if (inserted !== batch.length) throw new Error(`Inserted ${inserted} of ${batch.length}.`);
    totalMs += elapsedMs;
    longestMs = Math.max(longestMs, elapsedMs);
    totalCpuUs += cpu.user + cpu.system;
    longestCpuUs = Math.max(longestCpuUs, cpu.user + cpu.system);
    totalMainMs += mainMs;
    longestMainMs = Math.max(longestMainMs, mainMs);
  }
  loopDelay.disable();
  const events = batches * size;
  console.log(
    `${batches} batches × ${size} events${values.charges ? ' + charges' : ''}: ` +
      `wall ${((totalMs * 1_000) / events).toFixed(2)} µs/event, ` +
      `CPU ${(totalCpuUs / events).toFixed(2)} µs/event; longest batch wall ${longestMs.toFixed(2)} ms, ` +
      `CPU ${(longestCpuUs / 1_000).toFixed(2)} ms\n` +
      `main thread busy ${(totalMainMs / batches).toFixed(2)} ms/batch (longest ${longestMainMs.toFixed(2)} ms); ` +
      `event loop held up at most ${(loopDelay.max / 1e6).toFixed(1)} ms`,
  );
} finally {
  await store.close();
  rmSync(directory, { recursive: true, force: true });
}
