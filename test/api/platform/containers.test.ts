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
const t0 = Date.UTC(2025, 2, 1, 8, 0, 0);
const seconds = (ms: number) => Math.floor(ms / 1000);

beforeAll(async () => {
  ({ gateway, clock } = await startPlatformGateway({ startMs: t0 }));
  tenant = await createTenant(gateway, 'containers-org');
});
afterAll(async () => gateway.close());

const api = (method: string, path: string, body?: unknown) => call(gateway, tenant, method, path, body);

describe('POST /v1/containers (get-or-create)', () => {
  it('creates with 201, then answers 200 with the container unchanged', async () => {
    clock.set(t0);
    const created = await api('POST', '/v1/containers', {
      label: 'support-bot',
      initial_model: 'local/echo',
      initial_system_prompt: 'You are terse.',
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^ctr_/),
      object: 'container',
      label: 'support-bot',
      model: 'local/echo',
      initial_model: 'local/echo',
      deployed_model: null,
      system_prompt: 'You are terse.',
      initial_system_prompt: 'You are terse.',
      models: ['local/echo'],
      created_at: seconds(t0),
      updated_at: seconds(t0),
    });
    clock.set(t0 + 5_000);
    const again = await api('POST', '/v1/containers', {
      label: 'support-bot',
      initial_model: 'no/such-model',
      initial_system_prompt: 'ignored',
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);
  });

  it('defaults initial_model to containers.defaultModel and resolves aliases to catalog ids', async () => {
    const byDefault = await api('POST', '/v1/containers', { label: 'defaulted' });
    expect(byDefault.status).toBe(201);
    expect(byDefault.body).toMatchObject({
      model: 'openai/gpt-4o-mini',
      models: ['openai/gpt-4o-mini'],
      system_prompt: null,
      initial_system_prompt: null,
    });
    const aliased = await api('POST', '/v1/containers', { label: 'aliased', initial_model: 'local:echo' });
    expect(aliased.body.initial_model).toBe('local/echo');
  });

  it.each([
    [{}, 'missing_required_parameter', 'label', "Missing required parameter: 'label'."],
    [{ label: 7 }, 'invalid_type', 'label', "Invalid type for 'label': expected a string."],
    [{ label: 'has/slash' }, 'invalid_value', 'label', undefined],
    [{ label: 'a:b' }, 'invalid_value', 'label', undefined],
    [{ label: '-leading' }, 'invalid_value', 'label', undefined],
    [{ label: 'x'.repeat(65) }, 'invalid_value', 'label', undefined],
    [
      { label: 'ok', initial_model: 'no/such-model' },
      'invalid_value',
      'initial_model',
      "Invalid value for 'initial_model': unknown model 'no/such-model'.",
    ],
    [{ label: 'ok', initial_system_prompt: 5 }, 'invalid_type', 'initial_system_prompt', undefined],
  ])('rejects %j with 400 %s', async (body, code, param, message) => {
    const reply = await api('POST', '/v1/containers', body);
    expect(reply.status).toBe(400);
    expect(errorOf(reply)).toMatchObject({ code, param, type: 'invalid_request_error' });
    if (message) expect(errorOf(reply).message).toBe(message);
  });

  it('accepts the longest valid label and labels with dots, dashes and underscores', async () => {
    for (const label of ['a'.repeat(64), 'v1.2_beta-3', 'Z']) {
      expect((await api('POST', '/v1/containers', { label })).status).toBe(201);
    }
  });
});

describe('GET /v1/containers', () => {
  it('lists newest first with a total, pages, and answers ?label= with the object', async () => {
    const all = await api('GET', '/v1/containers?limit=100');
    expect(all.status).toBe(200);
    expect(all.body.object).toBe('list');
    expect(all.body.total).toBe(all.body.data.length);
    expect(all.body.total).toBeGreaterThanOrEqual(6);
    const page = await api('GET', '/v1/containers?limit=2&offset=1');
    expect(page.body.data).toHaveLength(2);
    expect(page.body.total).toBe(all.body.total);
    expect(page.body.data[0].id).toBe(all.body.data[1].id);
    const one = await api('GET', '/v1/containers?label=support-bot');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ object: 'container', label: 'support-bot' });
  });

  it('answers ?label= for an unknown label with 400 container_not_found', async () => {
    const reply = await api('GET', '/v1/containers?label=missing');
    expect(reply.status).toBe(400);
    expect(errorOf(reply)).toEqual({
      message: "No container found with label 'missing'.",
      type: 'invalid_request_error',
      param: 'label',
      code: 'container_not_found',
    });
  });

  it('rejects a bad limit', async () => {
    expect(errorOf(await api('GET', '/v1/containers?limit=500'))).toMatchObject({
      code: 'invalid_value',
      param: 'limit',
    });
  });
});

describe('GET, PATCH, DELETE /v1/containers/{label} and attach', () => {
  it('reads one container, and answers 404 container_not_found for an unknown label', async () => {
    expect((await api('GET', '/v1/containers/support-bot')).body.label).toBe('support-bot');
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const reply = await api(method, '/v1/containers/ghost', method === 'PATCH' ? {} : undefined);
      expect(reply.status, method).toBe(404);
      expect(errorOf(reply)).toEqual({
        message: "No container found with id 'ghost'.",
        type: 'not_found_error',
        param: null,
        code: 'container_not_found',
      });
    }
    const attach = await api('POST', '/v1/containers/ghost/models', { models: ['local/echo'] });
    expect(attach.status).toBe(404);
  });

  it('PATCH model deploys it: deployed_model, model and models change; initial fields stay', async () => {
    await api('POST', '/v1/containers', {
      label: 'deploy',
      initial_model: 'local/echo',
      initial_system_prompt: 'A',
    });
    clock.set(t0 + 60_000);
    const reply = await api('PATCH', '/v1/containers/deploy', { model: 'local/text', system_prompt: 'B' });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      model: 'local/text',
      initial_model: 'local/echo',
      deployed_model: 'local/text',
      system_prompt: 'B',
      initial_system_prompt: 'A',
      models: ['local/echo', 'local/text'],
      updated_at: seconds(t0 + 60_000),
    });
    expect((await api('GET', '/v1/containers/deploy')).body).toEqual(reply.body);
  });

  it('PATCH models replaces the list but keeps the current model; system_prompt null clears', async () => {
    const reply = await api('PATCH', '/v1/containers/deploy', {
      models: ['local/tools'],
      system_prompt: null,
    });
    expect(reply.status).toBe(200);
    expect(reply.body.models).toEqual(['local/tools', 'local/text']);
    expect(reply.body.model).toBe('local/text');
    expect(reply.body.system_prompt).toBeNull();
  });

  it.each([
    [{ model: 'no/such' }, 'invalid_value', 'model'],
    [{ models: ['local/echo', 'no/such'] }, 'invalid_value', 'models'],
    [{ models: 'local/echo' }, 'invalid_type', 'models'],
    [{ model: 3 }, 'invalid_type', 'model'],
    [{ system_prompt: [] }, 'invalid_type', 'system_prompt'],
  ])('PATCH rejects %j with 400 %s', async (body, code, param) => {
    const before = (await api('GET', '/v1/containers/deploy')).body;
    const reply = await api('PATCH', '/v1/containers/deploy', body);
    expect(reply.status).toBe(400);
    expect(errorOf(reply)).toMatchObject({ code, param });
    expect((await api('GET', '/v1/containers/deploy')).body).toEqual(before);
  });

  it('attach appends new catalog ids in order, once each', async () => {
    const reply = await api('POST', '/v1/containers/deploy/models', {
      models: ['local/echo', 'local/tools', 'local:reasoning'],
    });
    expect(reply.status).toBe(200);
    expect(reply.body.models).toEqual(['local/tools', 'local/text', 'local/echo', 'local/reasoning']);
    for (const [body, code] of [
      [{ models: ['no/such'] }, 'invalid_value'],
      [{ models: [] }, 'invalid_value'],
      [{}, 'missing_required_parameter'],
    ] as const) {
      const rejected = await api('POST', '/v1/containers/deploy/models', body);
      expect(rejected.status).toBe(400);
      expect(errorOf(rejected)).toMatchObject({ code, param: 'models' });
    }
  });

  it('routing sees a change at once: maniac:<label> serves the newly deployed model', async () => {
    await api('POST', '/v1/containers', { label: 'routed', initial_model: 'local/echo' });
    expect((await chat(gateway, tenant, 'before', { model: 'maniac:routed' })).model).toBe('local/echo');
    expect((await api('PATCH', '/v1/containers/routed', { model: 'local/text' })).status).toBe(200);
    expect((await chat(gateway, tenant, 'after', { model: 'maniac:routed' })).model).toBe('local/text');
    expect((await api('DELETE', '/v1/containers/routed')).status).toBe(200);
    const gone = await api('POST', '/v1/chat/completions', {
      model: 'maniac:routed',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(errorOf(gone)).toMatchObject({ code: 'model_not_found' });
  });

  it('DELETE removes the container and its registered completions', async () => {
    const created = await api('POST', '/v1/containers', { label: 'doomed', initial_model: 'local/echo' });
    const registered = await api('POST', '/v1/chat/completions/register', {
      container: 'doomed',
      items: [
        {
          input: { messages: [{ role: 'user', content: 'hi' }] },
          output: { choices: [{ message: { content: 'yo' } }] },
        },
      ],
    });
    expect(registered.status).toBe(200);
    const deleted = await api('DELETE', '/v1/containers/doomed');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: created.body.id, object: 'container', deleted: true });
    expect((await api('GET', '/v1/containers/doomed')).status).toBe(404);
    expect((await api('DELETE', '/v1/containers/doomed')).status).toBe(404);
    const gone = await api('GET', `/v1/chat/completions/${registered.body.ids[0]}`);
    expect(gone.status).toBe(404);
  });

  it('names request events after the container endpoints', () => {
    const endpoints = new Set(
      gateway.finished
        .filter((request) => request.principal?.keyId === tenant.keyId)
        .map((request) => request.record.endpoint),
    );
    for (const name of [
      'containers.create',
      'containers.list',
      'containers.retrieve',
      'containers.update',
      'containers.delete',
      'containers.models.attach',
    ])
      expect(endpoints).toContain(name);
  });
});
