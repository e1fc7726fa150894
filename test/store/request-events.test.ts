import { describe, expect, it } from 'vitest';
import type { RequestEvent } from '#src/telemetry/request-event.js';
import { dialects, uniqueName, useStore } from './store-dialects.js';

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
const base = Date.UTC(2025, 5, 10, 0, 0, 0);

interface Tenant {
  orgId: string;
  projectId: string;
  keyId: string;
}

function eventOf(tenant: Tenant, overrides: Partial<RequestEvent> = {}): RequestEvent {
  const id = overrides.id ?? uniqueName('chatcmpl');
  return {
    id,
    request_id: `req_${id}`,
    ts: base,
    endpoint: 'chat.completions',
    org_id: tenant.orgId,
    project_id: tenant.projectId,
    key_id: tenant.keyId,
    user_agent: 'vitest',
    client_ip: null,
    model_requested: 'gpt-4o-mini',
    model: 'openai/gpt-4o-mini',
    provider: 'openai',
    upstream_model: 'gpt-4o-mini',
    upstream_id: 'chatcmpl-upstream',
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
    latency_ms: 20,
    ttft_ms: null,
    upstream_latency_ms: 15,
    gateway_overhead_us: 300,
    usage: {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      cached_tokens: 2,
      cache_write_tokens: 0,
      reasoning_tokens: 1,
    },
    usage_source: 'upstream',
    cost_usd: 0.25,
    reserved_usd: 1,
    tags: [],
    metadata: null,
    trace: null,
    store: true,
    request_body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    response_body: {
      id,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'yo' } }],
    },
    ...overrides,
  };
}

for (const dialect of dialects) {
  describe(`store request events on ${dialect.name}`, () => {
    const fixture = useStore(dialect);

    const newTenant = async (): Promise<Tenant> => {
      const { organization, defaultProject } = await fixture.store.organizations.create({
        name: uniqueName('org'),
      });
      return { orgId: organization.id, projectId: defaultProject.id, keyId: uniqueName('key') };
    };

    describe('insertMany', () => {
      it('stores each event once: a replayed batch adds only the new ones', async () => {
        const tenant = await newTenant();
        const events = [eventOf(tenant), eventOf(tenant), eventOf(tenant)];
        expect(await fixture.store.requestEvents.insertMany(events)).toEqual({ inserted: 3, rejected: [] });
        const extra = eventOf(tenant);
        expect(await fixture.store.requestEvents.insertMany([...events, extra])).toEqual({
          inserted: 1,
          rejected: [],
        });
        expect(await fixture.store.requestEvents.insertMany([])).toEqual({ inserted: 0, rejected: [] });
        const page = await fixture.store.requestEvents.listCompletions({
          projectId: tenant.projectId,
          limit: 10,
          offset: 0,
        });
        expect(page.total).toBe(4);
      });

      it('stores an event sent twice in one batch once', async () => {
        const tenant = await newTenant();
        const event = eventOf(tenant);
        expect(await fixture.store.requestEvents.insertMany([event, eventOf(tenant), event])).toEqual({
          inserted: 2,
          rejected: [],
        });
        expect(await fixture.store.requestEvents.get(tenant.orgId, event.id)).toEqual(event);
      });

      it('round-trips every field, rounding latencies to whole milliseconds', async () => {
        const tenant = await newTenant();
        const event = eventOf(tenant, {
          latency_ms: 20.6,
          ttft_ms: 3.2,
          stream: true,
          tags: ['a', 'b'],
          metadata: { customer: 'acme', nested: { n: 1 } },
          trace: { id: 'trace-1', span_id: 's1', name: 'checkout', trace_context: { user: 'u1' } },
          settlement: { reservation_id: 'res_1', actual_usd_micros: 5 },
        });
        await fixture.store.requestEvents.insertMany([event]);
        const { settlement: _settlement, ...stored } = event;
        expect(await fixture.store.requestEvents.get(tenant.orgId, event.id)).toEqual({
          ...stored,
          latency_ms: 21,
          ttft_ms: 3,
        });
        const other = await newTenant();
        expect(await fixture.store.requestEvents.get(other.orgId, event.id)).toBeUndefined();
      });

      it('keeps nulls: no usage, no trace, no bodies', async () => {
        const tenant = await newTenant();
        const event = eventOf(tenant, {
          endpoint: 'models.list',
          usage: null,
          usage_source: null,
          cost_usd: null,
          request_body: null,
          response_body: null,
          model: null,
          attempts: [],
        });
        await fixture.store.requestEvents.insertMany([event]);
        expect(await fixture.store.requestEvents.get(tenant.orgId, event.id)).toEqual(event);
      });

      it('store NUL and unpaired surrogates from clients as U+FFFD instead of failing the batch', async () => {
        const tenant = await newTenant();
        const odd = eventOf(tenant, {
          model_requested: 'gpt\0-4o',
          metadata: { note: 'a\0b', broken: '\ud800' },
          tags: ['t\0'],
          trace: { id: 'trace\0', name: 'n\udc00' },
          request_body: { messages: [{ role: 'user', content: 'x\0y\ud83d\ude00' }] },
        });
        const fine = eventOf(tenant);
        expect(await fixture.store.requestEvents.insertMany([odd, fine])).toEqual({
          inserted: 2,
          rejected: [],
        });
        expect(await fixture.store.requestEvents.get(tenant.orgId, odd.id)).toMatchObject({
          model_requested: 'gpt\uFFFD-4o',
          metadata: { note: 'a\uFFFDb', broken: '\uFFFD' },
          tags: ['t\uFFFD'],
          trace: { id: 'trace\uFFFD', name: 'n\uFFFD' },
          request_body: { messages: [{ role: 'user', content: 'x\uFFFDy\ud83d\ude00' }] },
        });
      });

      it('skip and report events the database refuses, storing the rest of the batch', async () => {
        const tenant = await newTenant();
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        const unserializable = eventOf(tenant, { metadata: circular });
        // A spooled event from an older build could lack a required field; the type cannot say so.
        const missingEndpoint = { ...eventOf(tenant), endpoint: null } as unknown as RequestEvent;
        const good = [eventOf(tenant), eventOf(tenant)] as const;
        const result = await fixture.store.requestEvents.insertMany([
          good[0],
          unserializable,
          missingEndpoint,
          good[1],
        ]);
        expect(result.inserted).toBe(2);
        expect(result.rejected.map((rejection) => rejection.id)).toEqual([
          unserializable.id,
          missingEndpoint.id,
        ]);
        expect(result.rejected.every((rejection) => rejection.reason.length > 0)).toBe(true);
        for (const event of good) {
          expect(await fixture.store.requestEvents.get(tenant.orgId, event.id)).toBeDefined();
        }
        expect(await fixture.store.requestEvents.get(tenant.orgId, missingEndpoint.id)).toBeUndefined();
      });

      it('splits a batch larger than one statement may bind', async () => {
        const tenant = await newTenant();
        const events = Array.from({ length: 1_500 }, (_, index) =>
          eventOf(tenant, { ts: base + index, request_body: null, response_body: null }),
        );
        expect((await fixture.store.requestEvents.insertMany(events)).inserted).toBe(1_500);
        const page = await fixture.store.requestEvents.listCompletions({
          projectId: tenant.projectId,
          limit: 1,
          offset: 0,
        });
        expect(page.total).toBe(1_500);
        expect(page.data[0]?.id).toBe(events.at(-1)?.id);
      });
    });

    describe('stored completions', () => {
      it('are the successful stored chat events, newest first, with filters and totals', async () => {
        const tenant = await newTenant();
        const support = eventOf(tenant, { ts: base + 1, container: 'support', tags: ['prod', 'eu'] });
        const traced = eventOf(tenant, { ts: base + 2, trace: { id: 'trace-x' }, tags: ['prod'] });
        const other = eventOf(tenant, {
          ts: base + 3,
          model: 'anthropic/claude',
          container: 'support',
          tags: ['eu'],
        });
        const excluded = [
          eventOf(tenant, { ts: base + 4, store: false }),
          eventOf(tenant, { ts: base + 5, status: 500, outcome: 'error' }),
          eventOf(tenant, { ts: base + 6, endpoint: 'responses' }),
        ];
        await fixture.store.requestEvents.insertMany([support, traced, other, ...excluded]);
        const list = (filters: Record<string, unknown> = {}) =>
          fixture.store.requestEvents
            .listCompletions({ projectId: tenant.projectId, limit: 20, offset: 0, ...filters })
            .then((page) => ({ ids: page.data.map((completion) => completion.id), total: page.total }));

        expect(await list()).toEqual({ ids: [other.id, traced.id, support.id], total: 3 });
        expect(await list({ container: 'support' })).toEqual({ ids: [other.id, support.id], total: 2 });
        expect(await list({ model: 'anthropic/claude' })).toEqual({ ids: [other.id], total: 1 });
        expect(await list({ tags: ['prod'] })).toEqual({ ids: [traced.id, support.id], total: 2 });
        expect(await list({ tags: ['prod', 'eu'] })).toEqual({ ids: [support.id], total: 1 });
        expect(await list({ tags: ['prod', 'missing'] })).toEqual({ ids: [], total: 0 });
        expect(await list({ traceId: 'trace-x' })).toEqual({ ids: [traced.id], total: 1 });
        expect(await list({ from: base + 2, to: base + 2 })).toEqual({ ids: [traced.id], total: 1 });
        expect(await list({ source: 'register' })).toEqual({ ids: [], total: 0 });
        expect(await list({ status: 'pending' })).toEqual({ ids: [], total: 0 });
        expect(await list({ limit: 2, offset: 1 })).toEqual({ ids: [traced.id, support.id], total: 3 });
        expect(await list({ limit: 2, offset: 5 })).toEqual({ ids: [], total: 3 });
      });

      it('carry what the wire object needs', async () => {
        const tenant = await newTenant();
        const event = eventOf(tenant, {
          container: 'bot',
          tags: ['t'],
          metadata: { a: 1 },
          trace: { id: 'tr' },
        });
        await fixture.store.requestEvents.insertMany([event]);
        expect(await fixture.store.requestEvents.getCompletion(tenant.projectId, event.id)).toEqual({
          id: event.id,
          source: 'gateway',
          status: 'completed',
          createdAt: base,
          model: 'openai/gpt-4o-mini',
          modelRequested: 'gpt-4o-mini',
          provider: 'openai',
          container: 'bot',
          usage: event.usage,
          costUsd: 0.25,
          tags: ['t'],
          metadata: { a: 1 },
          trace: { id: 'tr' },
          requestBody: event.request_body,
          responseBody: event.response_body,
          error: null,
        });
      });

      it("of one project are invisible to another's", async () => {
        const tenant = await newTenant();
        const other = await newTenant();
        const event = eventOf(tenant);
        await fixture.store.requestEvents.insertMany([event]);
        expect(await fixture.store.requestEvents.getCompletion(other.projectId, event.id)).toBeUndefined();
        const page = await fixture.store.requestEvents.listCompletions({
          projectId: other.projectId,
          limit: 20,
          offset: 0,
        });
        expect(page).toEqual({ data: [], total: 0 });
      });

      it('include registered items, pending until completed, gone with their container', async () => {
        const tenant = await newTenant();
        const { container } = await fixture.store.containers.getOrCreate({
          projectId: tenant.projectId,
          label: 'registry',
          initialModel: 'openai/gpt-4o-mini',
          initialSystemPrompt: null,
          now: base,
        });
        const gateway = eventOf(tenant, { ts: base + 10 });
        await fixture.store.requestEvents.insertMany([gateway]);
        const item = (id: string, ts: number, status: 'completed' | 'pending') => ({
          id,
          orgId: tenant.orgId,
          projectId: tenant.projectId,
          containerId: container.id,
          container: 'registry',
          createdAt: ts,
          status,
          model: 'openai/gpt-4o-mini',
          modelRequested: null,
          input: { messages: [{ role: 'user', content: id }] },
          output:
            status === 'completed'
              ? { choices: [{ message: { role: 'assistant', content: 'ok' } }] }
              : undefined,
          tags: ['imported'],
          trace: { id: 'trace-registered' },
        });
        const doneId = uniqueName('reg');
        const pendingId = uniqueName('reg');
        await fixture.store.registeredCompletions.registerMany([
          item(doneId, base + 5, 'completed'),
          item(pendingId, base + 20, 'pending'),
        ]);
        const list = (filters: Record<string, unknown> = {}) =>
          fixture.store.requestEvents
            .listCompletions({ projectId: tenant.projectId, limit: 20, offset: 0, ...filters })
            .then((page) => ({ ids: page.data.map((completion) => completion.id), total: page.total }));
        expect(await list()).toEqual({ ids: [pendingId, gateway.id, doneId], total: 3 });
        expect(await list({ source: 'register' })).toEqual({ ids: [pendingId, doneId], total: 2 });
        expect(await list({ status: 'pending' })).toEqual({ ids: [pendingId], total: 1 });
        expect(await list({ status: 'completed', tags: ['imported'] })).toEqual({ ids: [doneId], total: 1 });
        expect(await list({ traceId: 'trace-registered' })).toEqual({ ids: [pendingId, doneId], total: 2 });
        expect(
          (await fixture.store.registeredCompletions.listPending(1_000)).map((pending) => pending.id),
        ).toContain(pendingId);

        const completed = {
          projectId: tenant.projectId,
          id: pendingId,
          status: 'completed' as const,
          output: { choices: [] },
          usage: gateway.usage,
          costUsd: 0.5,
        };
        expect(
          await fixture.store.registeredCompletions.complete({ ...completed, projectId: 'proj_other' }),
        ).toBe(false);
        expect(await fixture.store.registeredCompletions.complete(completed)).toBe(true);
        expect(await fixture.store.registeredCompletions.complete(completed)).toBe(false);
        expect(await fixture.store.requestEvents.getCompletion(tenant.projectId, pendingId)).toMatchObject({
          source: 'register',
          status: 'completed',
          container: 'registry',
          usage: gateway.usage,
          costUsd: 0.5,
          requestBody: { messages: [{ role: 'user', content: pendingId }] },
          responseBody: { choices: [] },
          trace: { id: 'trace-registered' },
        });

        await fixture.store.containers.delete(tenant.projectId, 'registry');
        expect(await list()).toEqual({ ids: [gateway.id], total: 1 });
      });

      it('are streamed page by page for exports, newest first, all of them', async () => {
        const tenant = await newTenant();
        // Two share a timestamp: the keyset continues by id without skipping or repeating.
        const events = [0, 1, 1, 2, 3, 4, 5].map((offset) => eventOf(tenant, { ts: base + offset }));
        await fixture.store.requestEvents.insertMany(events);
        const statements: string[] = [];
        const observed = await fixture.database.open({
          migrate: false,
          onQuery: (query) => statements.push(query.sql),
        });
        const seen: string[] = [];
        try {
          for await (const completion of observed.requestEvents.streamCompletions(
            { projectId: tenant.projectId },
            2,
          )) {
            seen.push(completion.id);
          }
        } finally {
          await observed.close();
        }
        const expected = [...events]
          .sort((left, right) => right.ts - left.ts || (left.id < right.id ? 1 : -1))
          .map((event) => event.id);
        expect(seen).toEqual(expected);
        expect(statements).toHaveLength(4);
      });
    });

    describe('traces', () => {
      it('aggregate requests, containers and errors, naming from the latest event that says', async () => {
        const tenant = await newTenant();
        const trace = (extra: Record<string, unknown>) => ({ id: 'trace-agg', ...extra });
        await fixture.store.requestEvents.insertMany([
          eventOf(tenant, {
            ts: base + 3_000,
            container: 'b',
            trace: trace({ span_id: 's3', parent_span_id: 's1' }),
          }),
          eventOf(tenant, {
            ts: base + 1_000,
            container: 'a',
            trace: trace({ span_id: 's1', name: 'first', source: 'sdk', trace_context: { step: 1 } }),
          }),
          eventOf(tenant, {
            ts: base + 2_000,
            container: 'a',
            status: 502,
            outcome: 'error',
            trace: trace({ span_id: 's2', name: 'second', trace_context: { step: 2 } }),
          }),
          eventOf(tenant, { ts: base + 4_000, status: 200, outcome: 'stream_error', trace: trace({}) }),
          eventOf(tenant, { ts: base + 5_000, trace: { id: 'trace-other', source: 'cli' } }),
          eventOf(tenant, { ts: base + 6_000 }),
        ]);
        const summary = {
          id: 'trace-agg',
          name: 'second',
          source: 'sdk',
          traceContext: { step: 2 },
          firstSeen: base + 1_000,
          lastSeen: base + 4_000,
          requestCount: 4,
          containerCount: 2,
          errorCount: 2,
        };
        const page = await fixture.store.requestEvents.listTraces({
          projectId: tenant.projectId,
          limit: 20,
          offset: 0,
        });
        expect(page.total).toBe(2);
        expect(page.data.map((entry) => entry.id)).toEqual(['trace-other', 'trace-agg']);
        expect(page.data[1]).toEqual(summary);

        const detail = await fixture.store.requestEvents.getTrace(tenant.projectId, 'trace-agg');
        expect(detail).toMatchObject(summary);
        expect(detail?.requests.map((request) => [request.ts, request.spanId, request.parentSpanId])).toEqual(
          [
            [base + 1_000, 's1', null],
            [base + 2_000, 's2', null],
            [base + 3_000, 's3', 's1'],
            [base + 4_000, null, null],
          ],
        );
        expect(detail?.requests[1]).toMatchObject({
          status: 502,
          container: 'a',
          endpoint: 'chat.completions',
        });
      });

      it('filter by source and activity window, and paginate', async () => {
        const tenant = await newTenant();
        await fixture.store.requestEvents.insertMany([
          eventOf(tenant, { ts: base + 1, trace: { id: 't1', source: 'sdk' } }),
          eventOf(tenant, { ts: base + 100, trace: { id: 't1' } }),
          eventOf(tenant, { ts: base + 50, trace: { id: 't2', source: 'cli' } }),
          eventOf(tenant, { ts: base + 200, trace: { id: 't3', source: 'sdk' } }),
        ]);
        const ids = (query: Record<string, unknown>) =>
          fixture.store.requestEvents
            .listTraces({ projectId: tenant.projectId, limit: 20, offset: 0, ...query })
            .then((page) => [page.data.map((entry) => entry.id), page.total]);
        expect(await ids({})).toEqual([['t3', 't1', 't2'], 3]);
        expect(await ids({ source: 'sdk' })).toEqual([['t3', 't1'], 2]);
        expect(await ids({ from: base + 60, to: base + 150 })).toEqual([['t1'], 1]);
        expect(await ids({ limit: 1, offset: 1 })).toEqual([['t1'], 3]);
      });

      it("of one project are invisible to another's", async () => {
        const tenant = await newTenant();
        const other = await newTenant();
        await fixture.store.requestEvents.insertMany([eventOf(tenant, { trace: { id: 'private-trace' } })]);
        expect(await fixture.store.requestEvents.getTrace(other.projectId, 'private-trace')).toBeUndefined();
        expect(
          await fixture.store.requestEvents.listTraces({ projectId: other.projectId, limit: 5, offset: 0 }),
        ).toEqual({
          data: [],
          total: 0,
        });
        expect(await fixture.store.requestEvents.getTrace(tenant.projectId, 'missing')).toBeUndefined();
      });
    });

    describe('usage', () => {
      it('groups model requests by day, hour, model, container and key', async () => {
        const tenant = await newTenant();
        await fixture.store.requestEvents.insertMany([
          eventOf(tenant, { ts: base + 1 * hourMs, container: 'c1', key_id: 'key_a' }),
          eventOf(tenant, {
            ts: base + 1 * hourMs + 5,
            model: 'm2',
            container: 'c1',
            key_id: 'key_b',
            usage: null,
            cost_usd: null,
          }),
          eventOf(tenant, { ts: base + 3 * hourMs, status: 429, outcome: 'error', key_id: 'key_a' }),
          eventOf(tenant, { ts: base + dayMs + 1, endpoint: 'responses', container: 'c2' }),
          eventOf(tenant, { ts: base + 2 * hourMs, endpoint: 'models.list', model: null }),
        ]);
        const usage = (
          groupBy: 'day' | 'hour' | 'model' | 'container' | 'key',
          extra: Record<string, unknown> = {},
        ) =>
          fixture.store.requestEvents.usage({
            projectId: tenant.projectId,
            from: base,
            to: base + 2 * dayMs,
            groupBy,
            ...extra,
          });
        const one = {
          promptTokens: 10,
          completionTokens: 5,
          cachedTokens: 2,
          reasoningTokens: 1,
          costUsd: 0.25,
        };
        const times = (count: number) => ({
          promptTokens: 10 * count,
          completionTokens: 5 * count,
          cachedTokens: 2 * count,
          reasoningTokens: count,
          costUsd: 0.25 * count,
        });
        expect(await usage('day')).toEqual([
          { start: base, end: base + dayMs, requests: 3, errors: 1, ...times(2) },
          { start: base + dayMs, end: base + 2 * dayMs, requests: 1, errors: 0, ...one },
        ]);
        expect((await usage('hour')).map((row) => [row.start - base, row.requests])).toEqual([
          [hourMs, 2],
          [3 * hourMs, 1],
          [dayMs, 1],
        ]);
        expect((await usage('model')).map((row) => [row.model, row.requests, row.costUsd])).toEqual([
          ['m2', 1, 0],
          ['openai/gpt-4o-mini', 3, 0.75],
        ]);
        expect((await usage('container')).map((row) => [row.container, row.requests])).toEqual([
          ['c1', 2],
          ['c2', 1],
          [null, 1],
        ]);
        // Sorted by key id: the tenant's `key-…` sorts before `key_a`.
        expect((await usage('key')).map((row) => [row.keyId, row.requests])).toEqual([
          [tenant.keyId, 1],
          ['key_a', 2],
          ['key_b', 1],
        ]);
        expect(await usage('model', { model: 'm2' })).toEqual([
          { start: base, end: base + 2 * dayMs, model: 'm2', requests: 1, errors: 0, ...times(0) },
        ]);
        expect((await usage('day', { container: 'c2' })).map((row) => row.requests)).toEqual([1]);
        expect((await usage('day', { endpoints: ['models.list'] })).map((row) => row.requests)).toEqual([1]);
        const other = await newTenant();
        expect(
          await fixture.store.requestEvents.usage({
            projectId: other.projectId,
            from: base,
            to: base + dayMs,
            groupBy: 'day',
          }),
        ).toEqual([]);
      });
    });

    describe('retention', () => {
      it('deletes old events and clears old bodies in batches, leaving newer ones', async () => {
        const tenant = await newTenant();
        // Far older than anything other tests insert, so the purge touches only these.
        const ancient = 1_000_000;
        const expired = Array.from({ length: 12 }, (_, index) => eventOf(tenant, { ts: ancient + index }));
        const bodiesExpired = eventOf(tenant, { ts: ancient + 5_000 });
        const kept = eventOf(tenant, { ts: ancient + 9_000 });
        await fixture.store.requestEvents.insertMany([...expired, bodiesExpired, kept]);
        const result = await fixture.store.requestEvents.purge({
          before: ancient + 1_000,
          bodiesBefore: ancient + 6_000,
        });
        expect(result).toEqual({ deletedEvents: 12, clearedBodies: 1 });
        expect(await fixture.store.requestEvents.get(tenant.orgId, expired[0]?.id ?? '')).toBeUndefined();
        expect(await fixture.store.requestEvents.get(tenant.orgId, bodiesExpired.id)).toMatchObject({
          request_body: null,
          response_body: null,
          usage: bodiesExpired.usage,
        });
        expect(await fixture.store.requestEvents.get(tenant.orgId, kept.id)).toMatchObject({
          request_body: kept.request_body,
        });
        expect(await fixture.store.requestEvents.purge({ before: ancient + 1_000 })).toEqual({
          deletedEvents: 0,
          clearedBodies: 0,
        });
      });
    });
  });
}
