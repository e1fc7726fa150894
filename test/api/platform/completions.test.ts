import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../support/gateway.js';
import {
  call,
  chat,
  createTenant,
  errorOf,
  type Json,
  type SteeredClock,
  startPlatformGateway,
  type Tenant,
} from './platform-fixture.js';

let gateway: TestGateway;
let clock: SteeredClock;
let tenant: Tenant;
const t0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const ids: Record<string, string> = {};

beforeAll(async () => {
  ({ gateway, clock } = await startPlatformGateway({ startMs: t0 }));
  tenant = await createTenant(gateway, 'completions-org');
  // Four stored completions one minute apart, one not stored, one failed.
  clock.set(t0);
  ids.plain = (await chat(gateway, tenant, 'first')).id;
  clock.set(t0 + 60_000);
  ids.tagged = (
    await chat(gateway, tenant, 'second', {
      tags: ['alpha', 'beta'],
      metadata: { team: 'search' },
      trace: { id: 'trace-1', span_id: 's1', run: 7 },
      temperature: 0.5,
    })
  ).id;
  clock.set(t0 + 120_000);
  ids.alphaOnly = (await chat(gateway, tenant, 'third', { tags: ['alpha'], trace: { id: 'trace-2' } })).id;
  clock.set(t0 + 180_000);
  ids.streamed = await streamChat('fourth');
  clock.set(t0 + 240_000);
  ids.unstored = (await chat(gateway, tenant, 'secret', { store: false })).id;
  const failed = await call(gateway, tenant, 'POST', '/v1/chat/completions', {
    model: 'local/no-such-model',
    messages: [{ role: 'user', content: 'nope' }],
  });
  expect(failed.status).toBe(404);
  await gateway.app.flushTelemetry();
});
afterAll(async () => gateway.close());

async function streamChat(content: string): Promise<string> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'local/echo', stream: true, messages: [{ role: 'user', content }] }),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse((text.split('\n').find((line) => line.startsWith('data: {')) as string).slice(6)).id;
}

const list = (query = '') => call(gateway, tenant, 'GET', `/v1/chat/completions${query}`);
const idsOf = (reply: { body: Json }) => reply.body.data.map((item: { id: string }) => item.id);

describe('GET /v1/chat/completions', () => {
  it('lists stored completions newest first, without store:false or failed requests', async () => {
    const reply = await list();
    expect(reply.status).toBe(200);
    expect(reply.body.object).toBe('list');
    expect(reply.body.total).toBe(4);
    expect(idsOf(reply)).toEqual([ids.streamed, ids.alphaOnly, ids.tagged, ids.plain]);
    expect(idsOf(reply)).not.toContain(ids.unstored);
  });

  it('is served under /api/v1 too', async () => {
    const reply = await call(gateway, tenant, 'GET', '/api/v1/chat/completions?limit=1');
    expect(reply.status).toBe(200);
    expect(idsOf(reply)).toEqual([ids.streamed]);
  });

  it('filters by tags (all must match), model, trace id, source and status', async () => {
    expect(idsOf(await list('?tag=alpha'))).toEqual([ids.alphaOnly, ids.tagged]);
    expect(idsOf(await list('?tag=alpha&tag=beta'))).toEqual([ids.tagged]);
    expect((await list('?tag=alpha&tag=gamma')).body).toEqual({ object: 'list', data: [], total: 0 });
    expect((await list('?model=local/echo')).body.total).toBe(4);
    expect((await list('?model=local/other')).body.total).toBe(0);
    expect(idsOf(await list('?trace_id=trace-1'))).toEqual([ids.tagged]);
    expect((await list('?source=gateway')).body.total).toBe(4);
    expect((await list('?source=register')).body.total).toBe(0);
    expect((await list('?status=completed')).body.total).toBe(4);
    expect((await list('?status=pending')).body.total).toBe(0);
  });

  it('filters by time range in Unix seconds, both bounds inclusive', async () => {
    const second = (ms: number) => Math.floor(ms / 1000);
    expect(idsOf(await list(`?from=${second(t0 + 60_000)}&to=${second(t0 + 120_000)}`))).toEqual([
      ids.alphaOnly,
      ids.tagged,
    ]);
    expect(idsOf(await list(`?to=${second(t0)}`))).toEqual([ids.plain]);
    expect(idsOf(await list(`?from=${second(t0 + 180_000)}`))).toEqual([ids.streamed]);
  });

  it('pages with limit and offset; total counts every match', async () => {
    const page = await list('?limit=2&offset=1');
    expect(page.body.total).toBe(4);
    expect(idsOf(page)).toEqual([ids.alphaOnly, ids.tagged]);
    expect(idsOf(await list('?limit=2&offset=4'))).toEqual([]);
    expect((await list()).body.data).toHaveLength(4);
  });

  it.each([
    ['?limit=0', 'limit', "Invalid value for 'limit': must be an integer from 1 to 100."],
    ['?limit=101', 'limit', "Invalid value for 'limit': must be an integer from 1 to 100."],
    ['?limit=abc', 'limit', "Invalid value for 'limit': must be an integer from 1 to 100."],
    ['?offset=-1', 'offset', "Invalid value for 'offset': must be a non-negative integer."],
    ['?from=yesterday', 'from', "Invalid value for 'from': must be a Unix time in seconds."],
    ['?from=20&to=10', 'to', "Invalid value for 'to': must not be before 'from'."],
    [
      '?status=done',
      'status',
      "Invalid value for 'status': must be one of 'completed', 'pending', 'failed'.",
    ],
    ['?source=api', 'source', "Invalid value for 'source': must be one of 'gateway', 'register'."],
    ['?limit=1&limit=2', 'limit', "Invalid value for 'limit': must be given at most once."],
  ])('rejects %s with 400 invalid_value', async (query, param, message) => {
    const reply = await list(query);
    expect(reply.status).toBe(400);
    expect(errorOf(reply)).toEqual({ message, type: 'invalid_request_error', param, code: 'invalid_value' });
  });
});

describe('GET /v1/chat/completions/{id}', () => {
  it('returns the stored completion with its context and input minus gateway-only fields', async () => {
    const reply = await call(gateway, tenant, 'GET', `/v1/chat/completions/${ids.tagged}`);
    expect(reply.status).toBe(200);
    const completion = reply.body;
    expect(completion).toMatchObject({
      id: ids.tagged,
      object: 'chat.completion',
      created: Math.floor((t0 + 60_000) / 1000),
      model: 'local/echo',
      provider: 'local',
      container: null,
      source: 'gateway',
      status: 'completed',
      model_requested: 'local/echo',
      tags: ['alpha', 'beta'],
      metadata: { team: 'search' },
      trace: { id: 'trace-1', span_id: 's1', trace_context: { run: 7 } },
      input: { model: 'local/echo', messages: [{ role: 'user', content: 'second' }], temperature: 0.5 },
    });
    expect(completion.input).not.toHaveProperty('tags');
    expect(completion.input).not.toHaveProperty('trace');
    expect(completion.input).not.toHaveProperty('metadata');
    expect(completion.choices[0].message).toMatchObject({ role: 'assistant', content: 'Echo: second' });
    expect(completion.usage.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage.total_tokens).toBe(
      completion.usage.prompt_tokens + completion.usage.completion_tokens,
    );
    expect(completion).not.toHaveProperty('error');
  });

  it('stores the assembled answer of a streamed completion', async () => {
    const reply = await call(gateway, tenant, 'GET', `/v1/chat/completions/${ids.streamed}`);
    expect(reply.status).toBe(200);
    expect(reply.body.choices[0].message.content).toBe('Echo: fourth');
    expect(reply.body.input.stream).toBe(true);
  });

  it('answers 404 completion_not_found for unknown and unstored ids', async () => {
    for (const id of ['chatcmpl-unknown', ids.unstored]) {
      const reply = await call(gateway, tenant, 'GET', `/v1/chat/completions/${id}`);
      expect(reply.status).toBe(404);
      expect(errorOf(reply)).toEqual({
        message: `No completion found with id '${id}'.`,
        type: 'not_found_error',
        param: null,
        code: 'completion_not_found',
      });
    }
  });

  it('names the request event after the endpoint', async () => {
    await list('?limit=1');
    const finished = gateway.finished.filter((request) => request.principal?.keyId === tenant.keyId);
    const endpoints = new Set(finished.map((request) => request.record.endpoint));
    expect(endpoints).toContain('chat.completions.list');
    expect(endpoints).toContain('chat.completions.retrieve');
  });
});
