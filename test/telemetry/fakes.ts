import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '#src/clock.js';
import type { EventSink } from '#src/telemetry/event-sink.js';
import type { RequestEvent } from '#src/telemetry/request-event.js';
import type { TimerHandle, Timers } from '#src/telemetry/timers.js';

/** Timers and clock that move only when the test says so. */
export class ManualTimers implements Timers {
  nowMs = 0;
  readonly clock: Clock = { now: () => this.nowMs, monotonic: () => this.nowMs };
  readonly #tasks = new Map<number, { dueMs: number; callback: () => void }>();
  #nextId = 1;

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#tasks.set(id, { dueMs: this.nowMs + delayMs, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#tasks.delete(handle as number);
  }

  get pending(): number {
    return this.#tasks.size;
  }

  /** Runs every task due within `ms`, in due order, including tasks they schedule. */
  advance(ms: number): void {
    const targetMs = this.nowMs + ms;
    for (;;) {
      let next: [number, { dueMs: number; callback: () => void }] | undefined;
      for (const entry of this.#tasks) {
        if (entry[1].dueMs <= targetMs && (!next || entry[1].dueMs < next[1].dueMs)) next = entry;
      }
      if (!next) break;
      this.#tasks.delete(next[0]);
      this.nowMs = Math.max(this.nowMs, next[1].dueMs);
      next[1].callback();
    }
    this.nowMs = targetMs;
  }
}

/**
 * A store table keyed by event id with insert-or-ignore semantics, that can fail or hang on demand.
 * `hang` keeps calls pending until `release()`, which commits them (a slow store that gets there).
 */
export class FakeStore implements EventSink {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  readonly rows = new Map<string, RequestEvent>();
  /** Ids in the order they were first stored. */
  readonly order: string[] = [];
  /** Ids of every call, in call order, stored or not. */
  readonly calls: string[][] = [];
  ignoredDuplicates = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly #hung: { events: RequestEvent[]; resolve(): void }[] = [];

  insertMany(events: readonly RequestEvent[]): Promise<void> {
    this.calls.push(events.map((event) => event.id));
    if (this.mode === 'fail') return Promise.reject(new Error('store unavailable'));
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.mode === 'hang') {
      return new Promise((resolve) => this.#hung.push({ events: [...events], resolve }));
    }
    this.#commit(events);
    this.inFlight--;
    return Promise.resolve();
  }

  get hungCalls(): number {
    return this.#hung.length;
  }

  /** Commits and resolves every hanging call. */
  release(): void {
    for (const call of this.#hung.splice(0)) {
      this.#commit(call.events);
      this.inFlight--;
      call.resolve();
    }
  }

  #commit(events: readonly RequestEvent[]): void {
    for (const event of events) {
      if (this.rows.has(event.id)) {
        this.ignoredDuplicates++;
        continue;
      }
      this.rows.set(event.id, structuredClone(event));
      this.order.push(event.id);
    }
  }
}

export function eventId(index: number): string {
  return `evt_${String(index).padStart(6, '0')}`;
}

export function makeEvent(index: number, overrides: Partial<RequestEvent> = {}): RequestEvent {
  return {
    id: eventId(index),
    request_id: `req_${index}`,
    ts: 1_700_000_000_000 + index,
    endpoint: 'chat.completions',
    org_id: 'org_1',
    project_id: 'prj_1',
    key_id: 'key_1',
    user_agent: 'vitest',
    client_ip: null,
    model_requested: 'openai/gpt-4o-mini',
    model: 'openai/gpt-4o-mini',
    provider: 'openai',
    upstream_model: 'gpt-4o-mini',
    upstream_id: null,
    container: null,
    attempts: [
      { model: 'openai/gpt-4o-mini', provider: 'openai', status: 200, error_code: null, latency_ms: 12 },
    ],
    status: 200,
    outcome: 'success',
    error_type: null,
    error_code: null,
    stream: false,
    finish_reason: 'stop',
    latency_ms: 15,
    ttft_ms: null,
    upstream_latency_ms: 12,
    gateway_overhead_us: 300,
    usage: {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
    },
    usage_source: 'upstream',
    cost_usd: 0.0001,
    reserved_usd: 0.001,
    tags: [],
    metadata: null,
    trace: null,
    store: true,
    request_body: { messages: [{ role: 'user', content: `hello ${index}` }] },
    response_body: null,
    ...overrides,
  };
}

export function makeEvents(from: number, count: number): RequestEvent[] {
  return Array.from({ length: count }, (_, offset) => makeEvent(from + offset));
}

export function idRange(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, offset) => eventId(from + offset));
}

/** A fresh directory under the OS temp dir, and its cleanup. */
export async function makeTempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'maniac-spool-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
