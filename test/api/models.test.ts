import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeUrl, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    file: {
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo'],
        },
        discovered: { type: 'openai-compatible', baseUrl: fakeUrl, discover: true },
      },
      models: [{ id: 'openai/gpt-4o-mini', aliases: ['mini'] }],
    },
  });
});
afterAll(async () => gateway.close());

async function get(path: string) {
  const response = await fetch(`${gateway.url}${path}`, { headers: gateway.headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('GET /v1/models (SPEC §5.1)', () => {
  it('lists enabled entries sorted by id in the OpenAI list shape', async () => {
    const { status, body } = await get('/v1/models');
    expect(status).toBe(200);
    assertOpenAiSchema('ListModelsResponse', body);
    const data = body.data as {
      id: string;
      object: string;
      owned_by: string;
      pricing: unknown;
      provider: string;
    }[];
    const ids = data.map((model) => model.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toContain('openai/gpt-4o-mini');
    expect(ids).toContain('anthropic/claude-sonnet-4-5');
    expect(ids).toContain('local/echo');
    expect(body).not.toHaveProperty('total');
    const mini = data.find((model) => model.id === 'openai/gpt-4o-mini');
    expect(mini).toMatchObject({
      object: 'model',
      owned_by: 'openai',
      slug: 'gpt-4o-mini',
      provider: 'openai',
      context_window: 128000,
      max_output_tokens: 16384,
      input_modalities: ['text', 'image'],
    });
    expect(mini).not.toHaveProperty('upstream_model');
    expect(mini).not.toHaveProperty('aliases');
  });

  it('imports models discovered from an upstream GET /models', async () => {
    const { body } = await get('/v1/models');
    const ids = (body.data as { id: string }[]).map((model) => model.id);
    expect(ids).toContain('discovered/echo');
    expect(ids).toContain('discovered/tools');
    const discovered = (body.data as { id: string; pricing: Record<string, unknown> }[]).find(
      (model) => model.id === 'discovered/echo',
    );
    expect(discovered?.pricing.input).toBeNull();
  });

  it('pages with limit and offset and then adds total', async () => {
    const all = await get('/v1/models');
    const total = (all.body.data as unknown[]).length;
    const page = await get('/v1/models?limit=2&offset=1');
    expect(page.body.total).toBe(total);
    expect((page.body.data as { id: string }[]).map((model) => model.id)).toEqual(
      (all.body.data as { id: string }[]).slice(1, 3).map((model) => model.id),
    );
    const bad = await get('/v1/models?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_value', param: 'limit' } });
  });
});

describe('GET /v1/models/{id}', () => {
  it('takes the rest of the path, percent-decoded', async () => {
    for (const path of [
      '/v1/models/openai/gpt-4o-mini',
      '/v1/models/openai%2Fgpt-4o-mini',
      '/v1/models/mini',
      '/v1/models/gpt-4o-mini',
    ]) {
      const { status, body } = await get(path);
      expect(status, path).toBe(200);
      assertOpenAiSchema('Model', body);
      expect(body.id).toBe('openai/gpt-4o-mini');
    }
  });

  it('answers an unknown id with 404 model_not_found', async () => {
    const { status, body } = await get('/v1/models/openai%2Fgpt-9');
    expect(status).toBe(404);
    assertOpenAiSchema('ErrorResponse', body);
    expect(body).toEqual({
      error: {
        message: "No model found with id 'openai/gpt-9'.",
        type: 'not_found_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
  });

  it('is served identically under /api/v1', async () => {
    const { status, body } = await get('/api/v1/models/openai/gpt-4o-mini');
    expect(status).toBe(200);
    expect(body.id).toBe('openai/gpt-4o-mini');
  });
});
