import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastUpstreamBody, postJson, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => gateway.close());
beforeEach(() => gateway.fake.reset());

const user = [{ role: 'user', content: 'hi' }];

describe('request fields to an OpenAI upstream (SPEC §4, column OpenAI)', () => {
  it('passes OpenAI fields and unknown top-level keys as given', async () => {
    const body = {
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'developer', content: 'be brief', name: 'ops' }, ...user],
      temperature: 0.3,
      top_p: 0.9,
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      seed: 7,
      logit_bias: { '50256': -100 },
      stop: ['END'],
      max_tokens: 20,
      max_completion_tokens: 30,
      logprobs: true,
      top_logprobs: 2,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_object' },
      user: 'u-1',
      service_tier: 'auto',
      prompt_cache_key: 'abc',
      verbosity: 'low',
      some_future_field: { nested: true },
    };
    const response = await postJson(gateway, '/v1/chat/completions', body);
    expect(response.status).toBe(200);
    const sent = lastUpstreamBody(gateway);
    const { model: _model, ...rest } = body;
    expect(sent).toEqual({ ...rest, model: 'gpt-4o-mini' });
    assertOpenAiSchema('CreateChatCompletionRequest', sent);
  });

  it('never forwards the Maniac fields and keeps the OpenAI ones', async () => {
    const response = await postJson(gateway, '/v1/chat/completions', {
      model: 'openai/gpt-4o-mini',
      messages: user,
      store: false,
      metadata: { team: 'search' },
      tags: ['a', 'b'],
      trace: { id: 'trace-1', span_id: 's1', extra: 3 },
      models: ['openai/gpt-4o'],
    });
    expect(response.status).toBe(200);
    const sent = lastUpstreamBody(gateway);
    for (const field of ['store', 'metadata', 'tags', 'trace', 'models'])
      expect(sent).not.toHaveProperty(field);
  });

  it('translates reasoning to reasoning_effort for OpenAI', async () => {
    await postJson(gateway, '/v1/chat/completions', {
      model: 'openai/gpt-4o-mini',
      messages: user,
      reasoning: { effort: 'high' },
      reasoning_effort: 'low',
    });
    const sent = lastUpstreamBody(gateway);
    expect(sent.reasoning_effort).toBe('high');
    expect(sent).not.toHaveProperty('reasoning');
  });

  it('drops what supported_parameters leaves out (o-series: no temperature)', async () => {
    await postJson(gateway, '/v1/chat/completions', {
      model: 'openai/o4-mini',
      messages: user,
      temperature: 0.2,
      top_p: 0.5,
      seed: 1,
    });
    const sent = lastUpstreamBody(gateway);
    expect(sent).not.toHaveProperty('temperature');
    expect(sent).not.toHaveProperty('top_p');
    expect(sent.seed).toBe(1);
  });

  it('forces usage on upstream streams', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: gateway.headers,
      body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: user, stream: true }),
    });
    await response.text();
    expect(lastUpstreamBody(gateway).stream_options).toEqual({ include_usage: true });
  });

  it('drops input_audio for a model without audio input and keeps it for one with it', async () => {
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'listen' },
          { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
        ],
      },
    ];
    await postJson(gateway, '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages });
    expect((lastUpstreamBody(gateway).messages as { content: unknown[] }[])[0]?.content).toEqual([
      { type: 'text', text: 'listen' },
    ]);
  });

  it('rejects a request left with no message after dropping parts', async () => {
    const response = await postJson(gateway, '/v1/chat/completions', {
      model: 'openai/gpt-4o-mini',
      messages: [
        { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'invalid_value', param: 'messages' } });
  });
});

describe('request fields to a Compat upstream (SPEC §4, column Compat)', () => {
  it('turns developer into system and reasoning into reasoning_effort', async () => {
    await postJson(gateway, '/v1/chat/completions', {
      model: 'local/echo',
      messages: [{ role: 'developer', content: 'x' }, ...user],
      reasoning: { effort: 'low' },
      custom_sampler: 3,
    });
    const sent = lastUpstreamBody(gateway);
    expect((sent.messages as { role: string }[])[0]?.role).toBe('system');
    expect(sent.reasoning_effort).toBe('low');
    expect(sent.custom_sampler).toBe(3);
    expect(sent.model).toBe('echo');
  });

  it('passes OpenRouter its own reasoning object and the full model id', async () => {
    await postJson(gateway, '/v1/chat/completions', {
      model: 'x-ai/grok-4',
      messages: user,
      reasoning: { effort: 'medium', exclude: true },
      provider: { order: ['xai'] },
    });
    const sent = lastUpstreamBody(gateway);
    expect(sent.model).toBe('x-ai/grok-4');
    expect(sent.reasoning).toEqual({ effort: 'medium', exclude: true });
    expect(sent.provider).toEqual({ order: ['xai'] });
  });
});

describe('credentials', () => {
  it('sends the provider key and never the client key', async () => {
    await postJson(gateway, '/v1/chat/completions', { model: 'local/echo', messages: user });
    const headers = gateway.fake.requests.at(-1)?.headers;
    expect(headers?.authorization).toBe('Bearer local-provider-secret-key');
    expect(JSON.stringify(gateway.fake.requests.at(-1))).not.toContain(
      gateway.headers.authorization?.slice(7),
    );
    await postJson(gateway, '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: user });
    expect(gateway.fake.requests.at(-1)?.headers.authorization).toBe('Bearer sk-openai-provider-secret');
  });
});
