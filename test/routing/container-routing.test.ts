import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastUpstreamBody, parseSse, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';
import { createTenant, type Tenant } from '../support/tenants.js';

let gateway: TestGateway;
let tenant: Tenant;
beforeAll(async () => {
  gateway = await startTestGateway();
  tenant = await createTenant(gateway.app.store);
  const now = Date.now();
  await gateway.app.store.containers.getOrCreate({
    projectId: tenant.projectId,
    label: 'support-bot',
    initialModel: 'local/echo',
    initialSystemPrompt: 'You are the support bot.',
    now,
  });
  await gateway.app.store.containers.attachModels(tenant.projectId, 'support-bot', ['local/tools'], now);
});
afterAll(async () => gateway.close());
beforeEach(() => gateway.fake.reset());

async function chat(body: Record<string, unknown>, headers = tenant.headers) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const user = { role: 'user', content: 'help' };

describe('container routes (SPEC §5.3)', () => {
  it('maniac:<label> uses the container model and prepends its prompt', async () => {
    const response = await chat({ model: 'maniac:support-bot', messages: [user] });
    expect(response.status).toBe(200);
    assertOpenAiSchema('CreateChatCompletionResponse', response.body);
    expect(response.body).toMatchObject({ model: 'local/echo', provider: 'local', container: 'support-bot' });
    expect(lastUpstreamBody(gateway).messages).toEqual([
      { role: 'system', content: 'You are the support bot.' },
      user,
    ]);
    expect(gateway.finished.at(-1)?.record.container).toBe('support-bot');
  });

  it('keeps the request’s own system message instead of the container prompt', async () => {
    await chat({ model: 'maniac/support-bot', messages: [{ role: 'developer', content: 'Mine.' }, user] });
    expect((lastUpstreamBody(gateway).messages as { content: string }[])[0]?.content).toBe('Mine.');
  });

  it('pins an attached model with maniac:<label>:<model>', async () => {
    const response = await chat({ model: 'maniac:support-bot:local/tools', messages: [user] });
    expect(response.body).toMatchObject({ model: 'local/tools', container: 'support-bot' });
  });

  it('names the container on every stream chunk', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: tenant.headers,
      body: JSON.stringify({ model: 'maniac:support-bot', stream: true, messages: [user] }),
    });
    const { data } = parseSse(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((item) => JSON.parse(item) as { container?: string });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
      expect(chunk.container).toBe('support-bot');
    }
  });

  it('answers an unknown label, an unattached pin and another project’s container with 404 model_not_found', async () => {
    for (const model of ['maniac:nobody', 'maniac:support-bot:openai/gpt-4o', 'maniac:']) {
      const response = await chat({ model, messages: [user] });
      expect(response.status, model).toBe(404);
      expect(response.body).toEqual({
        error: {
          message: `No model found with id '${model}'.`,
          type: 'not_found_error',
          param: 'model',
          code: 'model_not_found',
        },
      });
    }
    const other = await createTenant(gateway.app.store);
    expect((await chat({ model: 'maniac:support-bot', messages: [user] }, other.headers)).status).toBe(404);
  });

  it('lists a container’s models with GET /v1/models?container=', async () => {
    const response = await fetch(`${gateway.url}/v1/models?container=support-bot`, {
      headers: tenant.headers,
    });
    const body = (await response.json()) as { data: { id: string }[] };
    expect(body.data.map((model) => model.id)).toEqual(['local/echo', 'local/tools']);
    const unknown = await fetch(`${gateway.url}/v1/models?container=nobody`, { headers: tenant.headers });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: {
        message: "No container found with label 'nobody'.",
        type: 'invalid_request_error',
        param: 'container',
        code: 'container_not_found',
      },
    });
  });
});
