import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../support/gateway.js';
import {
  call,
  chat,
  createTenant,
  errorOf,
  type SteeredClock,
  startPlatformGateway,
  type Tenant,
} from './platform-fixture.js';

let gateway: TestGateway;
let clock: SteeredClock;
let tenant: Tenant;
const t0 = Date.UTC(2025, 3, 10, 9, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => Math.floor(ms / 1000);
const eventIds: string[] = [];

beforeAll(async () => {
  ({ gateway, clock } = await startPlatformGateway({ startMs: t0 }));
  tenant = await createTenant(gateway, 'traces-org');
  expect(
    (await call(gateway, tenant, 'POST', '/v1/containers', { label: 'planner', initial_model: 'local/echo' }))
      .status,
  ).toBe(201);

  clock.set(t0);
  eventIds.push(
    (
      await chat(gateway, tenant, 'one', {
        trace: { id: 't-alpha', span_id: 'a', name: 'first', source: 'agent', run: 1 },
      })
    ).id,
  );
  clock.set(t0 + 10_000);
  const failed = await call(gateway, tenant, 'POST', '/v1/chat/completions', {
    model: 'local/no-such-model',
    messages: [{ role: 'user', content: 'two' }],
    trace: { id: 't-alpha', span_id: 'b', parent_span_id: 'a' },
  });
  expect(failed.status).toBe(404);
  clock.set(t0 + 20_000);
  eventIds.push(
    (
      await chat(gateway, tenant, 'three', {
        model: 'maniac:planner',
        trace: { id: 't-alpha', span_id: 'c', parent_span_id: 'a', name: 'later', run: 2 },
      })
    ).id,
  );
  clock.set(t0 + 30_000);
  await chat(gateway, tenant, 'four', { trace: { id: 't-beta', source: 'batch' } });
  clock.set(t0 + 40_000);
  await chat(gateway, tenant, 'untraced');
  await gateway.app.flushTelemetry();
});
afterAll(async () => gateway.close());

const api = (path: string) => call(gateway, tenant, 'GET', path);
const idsOf = (reply: { body: { data: { id: string }[] } }) => reply.body.data.map((trace) => trace.id);

describe('GET /v1/traces', () => {
  it('aggregates events by trace id, most recently active first', async () => {
    const reply = await api('/v1/traces');
    expect(reply.status).toBe(200);
    expect(reply.body.object).toBe('list');
    expect(reply.body.total).toBe(2);
    expect(idsOf(reply)).toEqual(['t-beta', 't-alpha']);
    expect(reply.body.data[1]).toEqual({
      id: 't-alpha',
      object: 'trace',
      name: 'later',
      source: 'agent',
      trace_context: { run: 2 },
      first_seen: iso(t0),
      last_seen: iso(t0 + 20_000),
      request_count: 3,
      container_count: 1,
      error_count: 1,
    });
    expect(reply.body.data[0]).toMatchObject({
      source: 'batch',
      request_count: 1,
      error_count: 0,
      container_count: 0,
    });
  });

  it('filters by source and by activity within from/to (Unix seconds), and pages', async () => {
    expect(idsOf(await api('/v1/traces?source=batch'))).toEqual(['t-beta']);
    expect(idsOf(await api('/v1/traces?source=agent'))).toEqual(['t-alpha']);
    expect(idsOf(await api('/v1/traces?source=other'))).toEqual([]);
    expect(idsOf(await api(`/v1/traces?from=${seconds(t0 + 25_000)}`))).toEqual(['t-beta']);
    expect(idsOf(await api(`/v1/traces?to=${seconds(t0 + 5_000)}`))).toEqual(['t-alpha']);
    expect(idsOf(await api(`/v1/traces?from=${seconds(t0 + 15_000)}&to=${seconds(t0 + 35_000)}`))).toEqual([
      't-beta',
      't-alpha',
    ]);
    const page = await api('/v1/traces?limit=1&offset=1');
    expect(page.body).toMatchObject({ total: 2, data: [{ id: 't-alpha' }] });
  });

  it('rejects bad paging and time filters', async () => {
    expect(errorOf(await api('/v1/traces?limit=0'))).toMatchObject({ code: 'invalid_value', param: 'limit' });
    expect(errorOf(await api('/v1/traces?to=1.5'))).toMatchObject({ code: 'invalid_value', param: 'to' });
  });
});

describe('GET /v1/traces/{id}', () => {
  it('adds the requests oldest first with spans, statuses and error codes', async () => {
    const reply = await api('/v1/traces/t-alpha');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ id: 't-alpha', object: 'trace', request_count: 3, error_count: 1 });
    const requests = reply.body.requests as Record<string, unknown>[];
    expect(requests.map((request) => request.ts)).toEqual([iso(t0), iso(t0 + 10_000), iso(t0 + 20_000)]);
    expect(requests.map((request) => [request.span_id, request.parent_span_id])).toEqual([
      ['a', null],
      ['b', 'a'],
      ['c', 'a'],
    ]);
    expect(requests.map((request) => [request.status, request.error_code])).toEqual([
      [200, null],
      [404, 'model_not_found'],
      [200, null],
    ]);
    expect(requests[0]).toMatchObject({
      id: eventIds[0],
      endpoint: 'chat.completions',
      model: 'local/echo',
      container: null,
    });
    expect(requests[2]).toMatchObject({ id: eventIds[1], container: 'planner' });
    expect(typeof requests[0]?.latency_ms).toBe('number');
  });

  it('decodes percent-encoded ids', async () => {
    await chat(gateway, tenant, 'slash', { trace: { id: 'runs/42' } });
    await gateway.app.flushTelemetry();
    expect((await api('/v1/traces/runs%2F42')).body.request_count).toBe(1);
  });

  it('answers 404 trace_not_found for an unknown id', async () => {
    const reply = await api('/v1/traces/t-none');
    expect(reply.status).toBe(404);
    expect(errorOf(reply)).toEqual({
      message: "No trace found with id 't-none'.",
      type: 'not_found_error',
      param: null,
      code: 'trace_not_found',
    });
  });
});
