import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../support/gateway.js';
import { createTenant, type Tenant } from '../../support/tenants.js';
import {
  assertEvents,
  assertResponse,
  createResponse,
  parseEvents,
  request,
  responseOf,
  startResponsesGateway,
  streamResponse,
  typesOf,
} from './responses-fixture.js';

let gateway: TestGateway;
let alice: Tenant;
let bob: Tenant;
beforeAll(async () => {
  gateway = await startResponsesGateway();
  alice = await createTenant(gateway.app.store);
  bob = await createTenant(gateway.app.store);
});
afterAll(async () => gateway.close());

async function replay(id: string, query = 'stream=true', headers = alice.headers) {
  const response = await fetch(`${gateway.url}/v1/responses/${id}?${query}`, { headers });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text };
}

describe('GET and DELETE /v1/responses/{id} (SPEC §12.4)', () => {
  it('retrieves a stored response, for its organization only, under /v1 and /api/v1', async () => {
    const created = await createResponse(gateway, { model: 'local/echo', input: 'hello' }, alice.headers);
    const retrieved = await request(gateway, 'GET', `/v1/responses/${created.body.id}`, alice.headers);
    expect(retrieved.status).toBe(200);
    assertResponse(retrieved.body);
    expect(retrieved.body).toEqual(created.body);
    const aliased = await request(gateway, 'GET', `/api/v1/responses/${created.body.id}`, alice.headers);
    expect(aliased.body).toEqual(created.body);
    const foreign = await request(gateway, 'GET', `/v1/responses/${created.body.id}`, bob.headers);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({
      error: {
        message: `No response found with id '${created.body.id}'.`,
        type: 'not_found_error',
        param: null,
        code: 'response_not_found',
      },
    });
    expect(gateway.finished.at(-1)?.record.endpoint).toBe('responses.retrieve');
  });

  it('deletes a stored response; another organization cannot', async () => {
    const created = await createResponse(gateway, { model: 'local/echo', input: 'x' }, alice.headers);
    const path = `/v1/responses/${created.body.id}`;
    expect((await request(gateway, 'DELETE', path, bob.headers)).status).toBe(404);
    const deleted = await request(gateway, 'DELETE', path, alice.headers);
    expect(deleted).toEqual({
      status: 200,
      body: { id: created.body.id, object: 'response', deleted: true },
    });
    expect((await request(gateway, 'GET', path, alice.headers)).status).toBe(404);
    expect((await request(gateway, 'DELETE', path, alice.headers)).status).toBe(404);
  });
});

describe('GET /v1/responses/{id}?stream=true replays a finished response (SPEC §12.4)', () => {
  it('replays the canonical sequence: each part’s full text in one delta, same ids, same final response', async () => {
    const live = await streamResponse(gateway, { model: 'local/reasoning', input: '2+2' }, alice.headers);
    const final = live.events.at(-1)?.response as Record<string, unknown> & {
      id: string;
      output: { id: string }[];
    };
    const replayed = await replay(final.id);
    expect(replayed.status).toBe(200);
    expect(replayed.contentType).toBe('text/event-stream; charset=utf-8');
    const events = parseEvents(replayed.text);
    assertEvents(events);
    expect(typesOf(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.at(-1)?.response).toEqual(final);
    expect(events.find((event) => event.type === 'response.output_text.delta')?.delta).toBe('2 + 2 = 4.');
    const addedIds = events
      .filter((event) => event.type === 'response.output_item.added')
      .map((event) => (event.item as { id: string }).id);
    expect(addedIds).toEqual(final.output.map((item) => item.id));
    // The live stream and its replay describe the same response.
    expect(typesOf(live.events).filter((type) => !type.endsWith('.delta'))).toEqual(
      typesOf(events).filter((type) => !type.endsWith('.delta')),
    );
  });

  it('replays failures with error then response.failed, and function calls as their own items', async () => {
    const failed = await streamResponse(
      gateway,
      { model: 'local/mid-stream-error', input: 'x' },
      alice.headers,
    );
    const failedId = responseOf(failed.events.at(-1)).id;
    const failedReplay = parseEvents((await replay(failedId)).text);
    assertEvents(failedReplay);
    expect(typesOf(failedReplay).slice(-2)).toEqual(['error', 'response.failed']);
    const tools = await createResponse(gateway, { model: 'local/tools', input: 'x' }, alice.headers);
    const toolReplay = parseEvents((await replay(tools.body.id, 'stream=1')).text);
    assertEvents(toolReplay);
    expect(
      typesOf(toolReplay).filter((type) => type === 'response.function_call_arguments.done'),
    ).toHaveLength(2);
  });

  it('starting_after skips sequence numbers up to n', async () => {
    const created = await createResponse(gateway, { model: 'local/echo', input: 'x' }, alice.headers);
    const all = parseEvents((await replay(created.body.id)).text);
    const rest = parseEvents((await replay(created.body.id, 'stream=true&starting_after=3')).text);
    expect(rest.map((event) => event.sequence_number)).toEqual(
      all.slice(4).map((event) => event.sequence_number),
    );
    expect(rest[0]?.sequence_number).toBe(4);
    const bad = await replay(created.body.id, 'stream=true&starting_after=-1');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ error: { code: 'invalid_value', param: 'starting_after' } });
  });

  it('404s a replay of another organization’s response as JSON', async () => {
    const created = await createResponse(gateway, { model: 'local/echo', input: 'x' }, alice.headers);
    const foreign = await replay(created.body.id, 'stream=true', bob.headers);
    expect(foreign.status).toBe(404);
    expect(JSON.parse(foreign.text)).toMatchObject({ error: { code: 'response_not_found' } });
  });
});
