import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PendingGeneration, recordGeneration, registerCompletions } from '#src/api/completions.js';
import type { ChatCompletion } from '#src/api/wire/chat.js';
import { fakeUrl, type TestGateway } from '../../support/gateway.js';
import {
  call,
  createTenant,
  errorOf,
  type SteeredClock,
  startPlatformGateway,
  type Tenant,
} from './platform-fixture.js';

let gateway: TestGateway;
let clock: SteeredClock;
let tenant: Tenant;

beforeAll(async () => {
  ({ gateway, clock } = await startPlatformGateway({
    file: {
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo', 'stall'],
        },
      },
    },
  }));
  tenant = await createTenant(gateway, 'register-org');
  const created = await call(gateway, tenant, 'POST', '/v1/containers', {
    label: 'support',
    initial_model: 'local/echo',
    initial_system_prompt: 'You are terse.',
  });
  expect(created.status).toBe(201);
});
afterAll(async () => gateway.close());

const register = (body: unknown) => call(gateway, tenant, 'POST', '/v1/chat/completions/register', body);
const messages = [{ role: 'user', content: 'What is 2+2?' }];

describe('POST /v1/chat/completions/register', () => {
  it('registers items with output as completed and without output as pending', async () => {
    const reply = await register({
      container: 'support',
      items: [
        {
          input: { model: 'openai/gpt-4o', messages, tags: ['imported'], trace: { id: 'ext-1' } },
          output: {
            choices: [{ message: { content: '4' } }],
            usage: { prompt_tokens: 10, completion_tokens: 1 },
          },
        },
        // The upstream of this model never answers, so the item stays pending while the test looks.
        { input: { model: 'local/stall', messages } },
      ],
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      object: 'chat.completion.registration',
      container: 'support',
      registered: 2,
      generating: 1,
      ids: [expect.stringMatching(/^chatcmpl-[A-Za-z0-9]{24}$/), expect.stringMatching(/^chatcmpl-/)],
    });
    const [completedId, pendingId] = reply.body.ids;

    const completed = await call(gateway, tenant, 'GET', `/v1/chat/completions/${completedId}`);
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({
      id: completedId,
      object: 'chat.completion',
      source: 'register',
      status: 'completed',
      container: 'support',
      model: 'openai/gpt-4o',
      provider: 'openai',
      model_requested: 'openai/gpt-4o',
      tags: ['imported'],
      trace: { id: 'ext-1' },
      usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
      // Registered items never get the container's system prompt.
      input: { model: 'openai/gpt-4o', messages },
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          logprobs: null,
          message: { role: 'assistant', content: '4', refusal: null },
        },
      ],
    });

    const pending = await call(gateway, tenant, 'GET', `/v1/chat/completions/${pendingId}`);
    expect(pending.body).toMatchObject({ status: 'pending', source: 'register', model: null, choices: [] });

    const listed = await call(
      gateway,
      tenant,
      'GET',
      '/v1/chat/completions?container=support&status=pending',
    );
    expect(listed.body.total).toBe(1);
    expect(listed.body.data[0].id).toBe(pendingId);
    const tagged = await call(gateway, tenant, 'GET', '/v1/chat/completions?source=register&tag=imported');
    expect(tagged.body.data.map((item: { id: string }) => item.id)).toEqual([completedId]);
  });

  it('generates an item without output with the container model, billed and logged as one request', async () => {
    const reply = await register({ container: 'support', items: [{ input: { messages } }] });
    const [id] = reply.body.ids;
    let item = (await call(gateway, tenant, 'GET', `/v1/chat/completions/${id}`)).body;
    for (let attempt = 0; attempt < 200 && item.status === 'pending'; attempt++) {
      await new Promise((resolve) => setImmediate(resolve));
      item = (await call(gateway, tenant, 'GET', `/v1/chat/completions/${id}`)).body;
    }
    expect(item).toMatchObject({
      status: 'completed',
      source: 'register',
      model: 'local/echo',
      choices: [{ message: { role: 'assistant', content: 'Echo: What is 2+2?' } }],
    });
    const generation = gateway.finished.find(
      (finished) => finished.record.endpoint === 'chat.completions.register',
    );
    expect(generation).toMatchObject({ status: 200, principal: { orgId: tenant.orgId } });
  });

  it.each([
    [{ items: [{ input: { messages } }] }, 400, 'missing_required_parameter', 'container'],
    [{ container: 'support' }, 400, 'missing_required_parameter', 'items'],
    [{ container: 'support', items: [] }, 400, 'invalid_value', 'items'],
    [{ container: 'support', items: {} }, 400, 'invalid_type', 'items'],
    [
      { container: 'support', items: [{ input: { messages } }, { input: {} }] },
      400,
      'invalid_value',
      'items[1].input.messages',
    ],
    [
      { container: 'support', items: [{ input: { messages: [{ content: 'x' }] } }] },
      400,
      'invalid_value',
      'items[0].input.messages[0].role',
    ],
    [{ container: 'support', items: [{ output: {} }] }, 400, 'invalid_value', 'items[0].input'],
    [
      { container: 'support', items: [{ input: { messages }, output: { choices: [] } }] },
      400,
      'invalid_value',
      'items[0].output.choices',
    ],
    [
      { container: 'support', items: [{ input: { messages, model: 'nope/nothing' } }] },
      404,
      'model_not_found',
      'items[0].input.model',
    ],
  ])('rejects %j', async (body, status, code, param) => {
    const before = await call(gateway, tenant, 'GET', '/v1/chat/completions?source=register');
    const reply = await register(body);
    expect(reply.status).toBe(status);
    expect(errorOf(reply)).toMatchObject({ code, param });
    // All or nothing: a rejected batch registers no item.
    const after = await call(gateway, tenant, 'GET', '/v1/chat/completions?source=register');
    expect(after.body.total).toBe(before.body.total);
  });

  it('answers 400 container_not_found for an unknown container', async () => {
    const reply = await register({ container: 'nope', items: [{ input: { messages } }] });
    expect(reply.status).toBe(400);
    expect(errorOf(reply)).toEqual({
      message: "No container found with label 'nope'.",
      type: 'invalid_request_error',
      param: 'container',
      code: 'container_not_found',
    });
  });

  it('takes more than the default body limit (SPEC: 50 MiB)', async () => {
    const big = 'x'.repeat(21 * 1024 * 1024);
    const reply = await register({
      container: 'support',
      items: [
        {
          input: { messages: [{ role: 'user', content: big }] },
          output: { choices: [{ message: { content: 'ok' } }] },
        },
      ],
    });
    expect(reply.status).toBe(200);
  });
});

describe('generation of pending items', () => {
  it('hands each pending item to the generator after commit and records its result', async () => {
    const started: PendingGeneration[] = [];
    const deps = {
      store: gateway.app.store,
      catalog: gateway.app.catalog,
      clock,
      generate: (item: PendingGeneration) => started.push(item),
    };
    const registrant = { orgId: tenant.orgId, projectId: tenant.projectId, keyId: tenant.keyId };
    const result = await registerCompletions(deps, registrant, {
      container: 'support',
      items: [
        { input: { messages, tags: ['gen'] } },
        { input: { messages, model: 'local/echo' }, output: { choices: [{ message: { content: 'done' } }] } },
        { input: { messages, model: 'local:echo', temperature: 0 } },
      ],
    });
    expect(result.generating).toBe(2);
    expect(started.map((item) => item.id)).toEqual([result.ids[0], result.ids[2]]);
    expect(started[0]).toEqual({
      id: result.ids[0],
      registrant,
      container: 'support',
      model: 'local/echo',
      request: { messages, model: 'local/echo', store: false, tags: ['gen'] },
    });
    expect(started[1]?.request).toEqual({ messages, model: 'local/echo', temperature: 0, store: false });

    const completion = {
      id: 'chatcmpl-generated',
      object: 'chat.completion',
      created: 1,
      model: 'local/echo',
      provider: 'local',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          logprobs: null,
          message: { role: 'assistant', content: 'Echo', refusal: null },
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    } satisfies ChatCompletion;
    expect(
      await recordGeneration(gateway.app.store, started[0] as PendingGeneration, {
        status: 'completed',
        completion,
        costUsd: 0.5,
      }),
    ).toBe(true);
    expect(
      await recordGeneration(gateway.app.store, started[1] as PendingGeneration, {
        status: 'failed',
        error: { code: 'upstream_error', message: 'local returned an error: boom' },
      }),
    ).toBe(true);
    // A second result for the same item changes nothing.
    expect(
      await recordGeneration(gateway.app.store, started[0] as PendingGeneration, {
        status: 'completed',
        completion,
      }),
    ).toBe(false);

    const done = await call(gateway, tenant, 'GET', `/v1/chat/completions/${result.ids[0]}`);
    expect(done.body).toMatchObject({
      status: 'completed',
      model: 'local/echo',
      provider: 'local',
      cost_usd: 0.5,
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      choices: [{ message: { content: 'Echo' } }],
    });
    const failed = await call(gateway, tenant, 'GET', `/v1/chat/completions/${result.ids[2]}`);
    expect(failed.body).toMatchObject({
      status: 'failed',
      error: { code: 'upstream_error', message: 'local returned an error: boom' },
    });
  });

  it('keeps the registration when the generator throws', async () => {
    const registrant = { orgId: tenant.orgId, projectId: tenant.projectId, keyId: tenant.keyId };
    const result = await registerCompletions(
      {
        store: gateway.app.store,
        catalog: gateway.app.catalog,
        clock,
        generate: () => {
          throw new Error('queue full');
        },
      },
      registrant,
      { container: 'support', items: [{ input: { messages } }] },
    );
    const pending = await call(gateway, tenant, 'GET', `/v1/chat/completions/${result.ids[0]}`);
    expect(pending.body.status).toBe('pending');
  });
});
