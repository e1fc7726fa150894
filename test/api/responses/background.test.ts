import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlledStream } from '#src/fake-upstream/fake-upstream.js';
import type { TestGateway } from '../../support/gateway.js';
import { createTenant } from '../../support/tenants.js';
import {
  assertEvents,
  assertResponse,
  chunkLine,
  createResponse,
  openEventStream,
  request,
  responseOf,
  type StreamEvent,
  startResponsesGateway,
  typesOf,
  usageLine,
} from './responses-fixture.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startResponsesGateway();
});
afterAll(async () => gateway.close());

const controlled = { model: 'local/controlled', input: 'go', background: true };

/** Starts a background job on the controlled upstream; resolves once the worker called it. */
async function startJob(body: Record<string, unknown> = controlled) {
  const upstreamCalled = gateway.fake.nextControlled();
  const created = await createResponse(gateway, body);
  expect(created.status).toBe(200);
  return { id: created.body.id, created: created.body, upstream: await upstreamCalled };
}

function finish(upstream: ControlledStream, text: string) {
  upstream.send(chunkLine({ content: text }));
  upstream.send(chunkLine({}, 'stop'));
  upstream.send(usageLine(4, 2));
  upstream.end();
}

const tail = (id: string, query = '') =>
  openEventStream(gateway, { path: `/v1/responses/${id}?stream=true${query}` });

describe('background responses (SPEC §12.3)', () => {
  it('answers queued at once; the job runs without the client and completes', async () => {
    const { id, created, upstream } = await startJob();
    assertResponse(created);
    expect(created).toMatchObject({
      status: 'queued',
      background: true,
      output: [],
      model: 'local/controlled',
    });
    const events = await tail(id);
    upstream.send(chunkLine({ role: 'assistant', content: 'Hello' }));
    finish(upstream, ' world');
    const all = await events.all();
    assertEvents(all);
    expect(typesOf(all).slice(0, 3)).toEqual(['response.created', 'response.queued', 'response.in_progress']);
    expect(all.at(-1)?.type).toBe('response.completed');
    const stored = await request(gateway, 'GET', `/v1/responses/${id}`);
    assertResponse(stored.body);
    expect(stored.body).toMatchObject({ status: 'completed', background: true, output_text: 'Hello world' });
    expect(stored.body.usage).toMatchObject({ input_tokens: 4, output_tokens: 2 });
    // The creating request's event, and the job's own with the usage (it settles any reservation).
    const job = gateway.finished.find((finished) => finished.record.eventId === id);
    expect(job?.record).toMatchObject({
      endpoint: 'responses',
      outcome: 'success',
      usage: { total_tokens: 6 },
    });
    expect(gateway.finished.some((finished) => finished.record.endpoint === 'responses.background')).toBe(
      true,
    );
  });

  it('cancel stops the upstream and keeps the partial output; cancelling again changes nothing', async () => {
    const { id, upstream } = await startJob();
    const events = await tail(id);
    upstream.send(chunkLine({ role: 'assistant', content: 'Partial' }));
    await events.until('response.output_text.delta');
    const aborted = gateway.fake.nextAbort();
    const cancelled = await request(gateway, 'POST', `/v1/responses/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    assertResponse(cancelled.body);
    expect(cancelled.body).toMatchObject({ id, status: 'cancelled', output_text: 'Partial' });
    await aborted;
    const rest = await events.all();
    expect(rest.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'cancelled' } });
    expect((await request(gateway, 'POST', `/v1/responses/${id}/cancel`)).body).toEqual(cancelled.body);
    expect((await request(gateway, 'GET', `/v1/responses/${id}`)).body).toMatchObject({
      status: 'cancelled',
      output_text: 'Partial',
    });
  });

  it('refuses to cancel a finished or a foreground response, and 404s an unknown one', async () => {
    const foreground = await createResponse(gateway, { model: 'local/echo', input: 'x' });
    const refused = await request(gateway, 'POST', `/v1/responses/${foreground.body.id}/cancel`);
    expect(refused).toEqual({
      status: 400,
      body: {
        error: {
          message: 'Only background responses that are queued or in progress can be cancelled.',
          type: 'invalid_request_error',
          param: null,
          code: 'response_not_cancellable',
        },
      },
    });
    const { id, upstream } = await startJob();
    const events = await tail(id);
    finish(upstream, 'done');
    await events.all();
    expect((await request(gateway, 'POST', `/v1/responses/${id}/cancel`)).body).toMatchObject({
      error: { code: 'response_not_cancellable' },
    });
    expect((await request(gateway, 'POST', '/v1/responses/resp_unknown/cancel')).status).toBe(404);
    expect(gateway.finished.at(-1)?.record.endpoint).toBe('responses.cancel');
  });

  it('background + stream tails the job live; the client leaving does not cancel it', async () => {
    const upstreamCalled = gateway.fake.nextControlled();
    const stream = await openEventStream(gateway, { body: { ...controlled, stream: true } });
    expect(stream.response.status).toBe(200);
    const upstream = await upstreamCalled;
    upstream.send(chunkLine({ role: 'assistant', content: 'Half' }));
    const seen = await stream.until('response.output_text.delta');
    expect(typesOf(seen).slice(0, 3)).toEqual([
      'response.created',
      'response.queued',
      'response.in_progress',
    ]);
    expect(seen[0]?.response).toMatchObject({ status: 'queued', background: true });
    const id = responseOf(seen[0]).id;
    stream.abort();
    const late = await tail(id, '&starting_after=2');
    finish(upstream, ' done');
    const rest = await late.all();
    assertEvents([...seen.slice(0, 3), ...rest]);
    expect(rest[0]?.sequence_number).toBe(3);
    expect(rest.at(-1)).toMatchObject({ type: 'response.completed', response: { output_text: 'Half done' } });
  });

  it('checkpoints a running job’s output, readable with a plain GET', async () => {
    const { id, upstream } = await startJob();
    upstream.send(chunkLine({ role: 'assistant', content: 'So far' }));
    await expect
      .poll(async () => (await request(gateway, 'GET', `/v1/responses/${id}`)).body.output_text, {
        timeout: 5000,
      })
      .toBe('So far');
    expect((await request(gateway, 'GET', `/v1/responses/${id}`)).body.status).toBe('in_progress');
    const events = await tail(id);
    finish(upstream, '!');
    expect((await events.all()).at(-1)?.type).toBe('response.completed');
  });

  it('DELETE cancels a running job first', async () => {
    const { id } = await startJob();
    const aborted = gateway.fake.nextAbort();
    const deleted = await request(gateway, 'DELETE', `/v1/responses/${id}`);
    expect(deleted.body).toEqual({ id, object: 'response', deleted: true });
    await aborted;
    expect((await request(gateway, 'GET', `/v1/responses/${id}`)).status).toBe(404);
  });

  it('a job whose upstream fails before its first event ends failed, with the upstream error', async () => {
    const created = await createResponse(gateway, { model: 'local/error-429', input: 'x', background: true });
    const events = (await tail(created.body.id).then((stream) => stream.all())) as StreamEvent[];
    expect(typesOf(events).slice(-2)).toEqual(['error', 'response.failed']);
    const stored = await request(gateway, 'GET', `/v1/responses/${created.body.id}`);
    expect(stored.body).toMatchObject({ status: 'failed', error: { code: 'upstream_rate_limited' } });
  });
});

describe('queue limits (SPEC §12.3)', () => {
  let queue: TestGateway;
  beforeAll(async () => {
    queue = await startResponsesGateway({ background: { concurrency: 1, maxQueued: 1 } });
  });
  afterAll(async () => queue.close());

  it('runs `concurrency` jobs at once; a queued job cancelled never runs; a full queue is 503', async () => {
    const firstCalled = queue.fake.nextControlled();
    const first = await createResponse(queue, controlled);
    const upstream = await firstCalled;
    const second = await createResponse(queue, controlled);
    expect(second.body.status).toBe('queued');
    const third = await createResponse(queue, controlled);
    expect(third.status).toBe(503);
    expect(third.body).toEqual({
      error: {
        message: 'Background responses are temporarily unavailable.',
        type: 'api_error',
        param: null,
        code: 'background_unavailable',
      },
    });
    const cancelled = await request(queue, 'POST', `/v1/responses/${second.body.id}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', output: [] });
    const done = openEventStream(queue, { path: `/v1/responses/${first.body.id}?stream=true` });
    finish(upstream, 'one');
    await (await done).all();
    const fourthCalled = queue.fake.nextControlled();
    const fourth = await createResponse(queue, controlled);
    finish(await fourthCalled, 'four');
    await (await openEventStream(queue, { path: `/v1/responses/${fourth.body.id}?stream=true` })).all();
    // Only the first and the fourth reached the upstream.
    expect(queue.fake.requests.filter((recorded) => recorded.model === 'controlled')).toHaveLength(2);
    expect((await request(queue, 'GET', `/v1/responses/${second.body.id}`)).body.status).toBe('cancelled');
  });
});

describe('jobs and instances (SPEC §12.3, §12.4)', () => {
  it('a cancel written by another instance stops the job at its next checkpoint, keeping the output', async () => {
    const tenant = await createTenant(gateway.app.store);
    const upstreamCalled = gateway.fake.nextControlled();
    const created = await createResponse(gateway, controlled, tenant.headers);
    const upstream = await upstreamCalled;
    const events = await openEventStream(
      gateway,
      { path: `/v1/responses/${created.body.id}?stream=true` },
      tenant.headers,
    );
    upstream.send(chunkLine({ role: 'assistant', content: 'Partial' }));
    await events.until('response.output_text.delta');
    const aborted = gateway.fake.nextAbort();
    // What POST …/cancel does on an instance that does not run the job.
    await gateway.app.store.responses.update(tenant.orgId, created.body.id, {
      status: 'cancelled',
      now: Date.now(),
      ifStatusIn: ['in_progress'],
    });
    await aborted;
    expect((await events.all()).at(-1)).toMatchObject({ response: { status: 'cancelled' } });
    const stored = await request(gateway, 'GET', `/v1/responses/${created.body.id}`, tenant.headers);
    expect(stored.body).toMatchObject({ status: 'cancelled', output_text: 'Partial' });
  });

  it('tails a job running on another instance from the store: the prefix, then the rest once it ends', async () => {
    const tenant = await createTenant(gateway.app.store);
    const id = 'resp_0123456789abcdef0123456789abcdef';
    const base = await createResponse(gateway, { model: 'local/echo', input: 'x' }, tenant.headers);
    const response = {
      ...base.body,
      id,
      background: true,
      status: 'in_progress',
      output: [],
      output_text: '',
    };
    delete response.usage;
    const record = {
      id,
      orgId: tenant.orgId,
      projectId: tenant.projectId,
      keyId: tenant.keyId,
      isBackground: true,
      model: 'local/echo',
      previousResponseId: null,
      request: { conversation: [] },
      error: null,
      createdAt: Date.now(),
      workerId: 'wrk_elsewhere',
    };
    await gateway.app.store.responses.save({ ...record, status: 'in_progress', response });
    const events = await openEventStream(
      gateway,
      { path: `/v1/responses/${id}?stream=true` },
      tenant.headers,
    );
    const prefix = await events.until('response.in_progress');
    expect(typesOf(prefix)).toEqual(['response.created', 'response.queued', 'response.in_progress']);
    await gateway.app.store.responses.update(tenant.orgId, id, {
      status: 'completed',
      response: { ...base.body, id, background: true },
      now: Date.now(),
    });
    const all = await events.all();
    assertEvents(all);
    expect(all.at(-1)).toMatchObject({
      type: 'response.completed',
      response: { id, output_text: 'Echo: x' },
    });
  });
});
