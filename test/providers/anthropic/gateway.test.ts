import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletion, ChatCompletionChunk } from '#src/api/wire/chat.js';
import { anthropicFormat } from '#src/fake-upstream/anthropic-format.js';
import type { RecordedRequest } from '#src/fake-upstream/fake-upstream.js';
import { openAiFormat } from '#src/fake-upstream/formats.js';
import { anthropicProvider } from '#src/providers/anthropic/index.js';
import { providerRegistry } from '#src/providers/registry.js';
import { internalKey, parseSse, startTestGateway, type TestGateway } from '../../support/gateway.js';
import { assertOpenAiSchema } from '../../support/openai-schema.js';

const scenarios = [
  'echo',
  'text',
  'tool-use',
  'thinking',
  'cached-usage',
  'json-response',
  'refusal',
  'error-400',
  'error-401',
  'error-429',
  'error-500',
  'error-529',
  'overloaded-mid-stream',
  'overloaded-first',
  'broken-stream',
];

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather by city',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    providers: { ...providerRegistry, anthropic: anthropicProvider },
    fake: { formats: [openAiFormat, anthropicFormat] },
    file: {
      models: scenarios.map((scenario) => ({
        id: `anthropic/${scenario}`,
        provider: 'anthropic',
        upstream_model: scenario,
        max_output_tokens: 1024,
        input_modalities: ['text', 'image', 'file'],
      })),
    },
  });
});
afterAll(async () => gateway?.close());

async function post(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: gateway.headers,
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
}

async function completion(
  body: Record<string, unknown>,
): Promise<{ response: Response; json: ChatCompletion }> {
  const response = await post(body);
  const json = (await response.json()) as ChatCompletion;
  expect(response.status, JSON.stringify(json)).toBe(200);
  assertOpenAiSchema('CreateChatCompletionResponse', json);
  return { response, json };
}

async function stream(body: Record<string, unknown>): Promise<{ response: Response; data: string[] }> {
  const response = await post({ stream: true, ...body });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const { data } = parseSse(text);
  expect(data.at(-1)).toBe('[DONE]');
  return { response, data };
}

function chunksOf(data: string[]): ChatCompletionChunk[] {
  const chunks = data
    .filter((item) => item !== '[DONE]' && !item.startsWith('{"error"'))
    .map((item) => JSON.parse(item) as ChatCompletionChunk);
  for (const chunk of chunks) assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
  for (const chunk of chunks)
    expect([chunk.id, chunk.model, chunk.provider]).toEqual([chunks[0]?.id, chunks[0]?.model, 'anthropic']);
  expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
  return chunks;
}

function lastUpstream(): RecordedRequest {
  const recorded = gateway.fake.requests.at(-1);
  if (!recorded) throw new Error('the fake upstream recorded no request');
  return recorded;
}

async function errorOf(body: Record<string, unknown>, status: number) {
  const response = await post(body);
  const json = (await response.json()) as {
    error: { message: string; type: string; code: string; param: string | null };
  };
  expect(response.status, JSON.stringify(json)).toBe(status);
  assertOpenAiSchema('ErrorResponse', json);
  return { response, error: json.error };
}

describe('anthropic through the gateway', () => {
  it('answers a completion and sends the provider key, never the client key', async () => {
    const { response, json } = await completion({
      model: 'anthropic/text',
      user: 'user-42',
      temperature: 0.3,
    });
    expect(json.choices[0]?.message.content).toBe('Hello! How can I help you today?');
    expect(json.choices[0]?.finish_reason).toBe('stop');
    expect(json.provider).toBe('anthropic');
    expect(json.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 12, total_tokens: 24 });
    expect(response.headers.get('x-maniac-provider')).toBe('anthropic');
    const upstream = lastUpstream();
    expect(upstream.path).toBe('/v1/messages');
    expect(upstream.headers['x-api-key']).toBe('sk-ant-provider-secret');
    expect(upstream.headers['anthropic-version']).toBe('2023-06-01');
    expect(upstream.headers.authorization).toBeUndefined();
    expect(JSON.stringify(upstream.headers)).not.toContain(internalKey);
    expect(upstream.body).toEqual({
      model: 'text',
      max_tokens: 1024,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      temperature: 0.3,
      metadata: { user_id: 'user-42' },
    });
  });

  it('plays the echo scenario plain and streamed, with images sent as Anthropic sources', async () => {
    const content = [
      { type: 'text', text: 'describe' },
      { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
    ];
    const { json } = await completion({ model: 'anthropic/echo', messages: [{ role: 'user', content }] });
    expect(json.choices[0]?.message.content).toBe('Echo: describe');
    expect((lastUpstream().body.messages as { content: unknown[] }[])[0]?.content).toEqual([
      { type: 'text', text: 'describe' },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
    ]);
    const { data } = await stream({
      model: 'anthropic/echo',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    const chunks = chunksOf(data);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Echo: hello there');
    expect(lastUpstream().body.stream).toBe(true);
  });

  it('streams text with one finish_reason and the usage chunk last', async () => {
    const { data } = await stream({ model: 'anthropic/text', stream_options: { include_usage: true } });
    const chunks = chunksOf(data);
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason)).toHaveLength(1);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject({
      prompt_tokens: 12,
      completion_tokens: 12,
      total_tokens: 24,
    });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
  });

  it('returns thinking as reasoning with signed reasoning_details and sends the budget', async () => {
    const { json } = await completion({ model: 'anthropic/thinking', reasoning_effort: 'low' });
    const message = json.choices[0]?.message;
    expect(message?.content).toBe('27 × 453 = 12,231');
    expect(message?.reasoning).toMatch(/^27 \* 453/);
    expect(message?.reasoning_details?.[0]).toMatchObject({
      type: 'reasoning.text',
      signature: expect.any(String),
    });
    expect(lastUpstream().body).toMatchObject({
      max_tokens: 1024 + 2048,
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
  });

  it('sends reasoning_details back as signed thinking blocks on the next turn', async () => {
    const { json } = await completion({ model: 'anthropic/thinking', reasoning_effort: 'low' });
    const previous = json.choices[0]?.message;
    await completion({
      model: 'anthropic/echo',
      messages: [
        { role: 'user', content: 'What is 27 * 453?' },
        previous,
        { role: 'user', content: 'And doubled?' },
      ],
    });
    const sent = lastUpstream().body.messages as { role: string; content: { type: string }[] }[];
    expect(sent[1]?.content.map((block) => block.type)).toEqual(['thinking', 'text']);
    expect(sent[1]?.content[0]).toEqual({
      type: 'thinking',
      thinking: previous?.reasoning,
      signature:
        previous?.reasoning_details?.[0]?.type === 'reasoning.text'
          ? previous.reasoning_details[0].signature
          : '',
    });
  });

  it('reports cache reads and writes inside prompt_tokens', async () => {
    const { json } = await completion({ model: 'anthropic/cached-usage' });
    expect(json.usage).toMatchObject({
      prompt_tokens: 2257,
      completion_tokens: 10,
      total_tokens: 2267,
      prompt_tokens_details: { cached_tokens: 2048, cache_write_tokens: 188 },
    });
  });

  it('answers response_format json through the forced json_response tool', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } } };
    const { json } = await completion({
      model: 'anthropic/json-response',
      response_format: { type: 'json_schema', json_schema: { name: 'city', schema } },
    });
    expect(json.choices[0]?.finish_reason).toBe('stop');
    expect(JSON.parse(json.choices[0]?.message.content ?? '')).toEqual({
      city: 'Paris',
      population: 2102650,
    });
    expect(lastUpstream().body).toMatchObject({
      tools: [{ name: 'json_response', input_schema: schema }],
      tool_choice: { type: 'tool', name: 'json_response' },
    });
  });

  it('maps a refusal to content_filter', async () => {
    const { json } = await completion({ model: 'anthropic/refusal' });
    expect(json.choices[0]?.finish_reason).toBe('content_filter');
  });

  it.each([
    ['error-400', 400, 'invalid_request_error', 'upstream_bad_request'],
    ['error-401', 502, 'api_error', 'upstream_auth_failed'],
    ['error-429', 429, 'rate_limit_error', 'upstream_rate_limited'],
    ['error-500', 502, 'api_error', 'upstream_error'],
    ['error-529', 503, 'overloaded_error', 'upstream_overloaded'],
  ])('maps %s to %i %s %s', async (scenario, status, type, code) => {
    const { response, error } = await errorOf({ model: `anthropic/${scenario}` }, status);
    expect([error.type, error.code]).toEqual([type, code]);
    expect(JSON.stringify(error)).not.toContain('sk-ant-provider-secret');
    if (scenario === 'error-429') expect(response.headers.get('retry-after')).toBe('17');
    if (scenario === 'error-400') expect(error.message).toContain('maximum allowed number of output tokens');
  });

  it('ends a stream that turns overloaded after output with an in-band error and [DONE]', async () => {
    const { data } = await stream({
      model: 'anthropic/overloaded-mid-stream',
      stream_options: { include_usage: true },
    });
    const chunks = chunksOf(data);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Once upon a time');
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(false);
    const error = JSON.parse(data.at(-2) ?? '');
    assertOpenAiSchema('ErrorResponse', error);
    expect(error.error).toMatchObject({ type: 'overloaded_error', code: 'upstream_overloaded' });
  });

  it('reports a stream that breaks off before message_stop as upstream_error', async () => {
    const { data } = await stream({ model: 'anthropic/broken-stream' });
    expect(
      chunksOf(data)
        .map((chunk) => chunk.choices[0]?.delta.content ?? '')
        .join(''),
    ).toBe('The answer is');
    expect(JSON.parse(data.at(-2) ?? '').error).toMatchObject({ code: 'upstream_error' });
  });

  it('falls back when the stream fails before any output, and answers 503 JSON without a fallback', async () => {
    const response = await post({
      model: 'anthropic/overloaded-first',
      models: ['anthropic/text'],
      stream: true,
    });
    const { data } = parseSse(await response.text());
    expect(response.status).toBe(200);
    expect(response.headers.get('x-maniac-model')).toBe('anthropic/text');
    expect(response.headers.get('x-maniac-attempts')).toBe('2');
    expect(
      chunksOf(data)
        .map((chunk) => chunk.choices[0]?.delta.content ?? '')
        .join(''),
    ).toBe('Hello! How can I help you today?');
    const { error } = await errorOf({ model: 'anthropic/overloaded-first', stream: true }, 503);
    expect(error.code).toBe('upstream_overloaded');
  });

  it('rejects what Anthropic cannot take before calling it', async () => {
    const before = gateway.fake.requests.length;
    const functions = await errorOf({ model: 'anthropic/text', functions: [{ name: 'f' }] }, 400);
    expect([functions.error.code, functions.error.param]).toEqual(['unsupported_parameter', 'functions']);
    const temperature = await errorOf({ model: 'anthropic/text', temperature: 1.5 }, 400);
    expect([temperature.error.code, temperature.error.param]).toEqual(['invalid_value', 'temperature']);
    const file = await errorOf(
      {
        model: 'anthropic/text',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'x' },
              { type: 'file', file: { file_id: 'file-1' } },
            ],
          },
        ],
      },
      400,
    );
    expect([file.error.code, file.error.param]).toEqual(['invalid_value', 'messages[0].content[1]']);
    expect(gateway.fake.requests.length).toBe(before);
  });
});

describe('anthropic through the official openai SDK', () => {
  const client = () => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: internalKey, maxRetries: 0 });

  it('creates a completion with usage', async () => {
    const result = await client().chat.completions.create({
      model: 'anthropic/cached-usage',
      messages: [{ role: 'user', content: 'How do I fix it?' }],
    });
    expect(result.choices[0]?.message.content).toBe('Based on the manual, restart the device first.');
    expect(result.usage?.prompt_tokens_details?.cached_tokens).toBe(2048);
  });

  it('assembles two parallel tool calls from the stream, with the usage chunk', async () => {
    const runner = client().chat.completions.stream({
      model: 'anthropic/tool-use',
      messages: [{ role: 'user', content: 'Weather in SF and Paris?' }],
      tools: [weatherTool],
      parallel_tool_calls: true,
      stream_options: { include_usage: true },
    });
    const usages: unknown[] = [];
    runner.on('chunk', (chunk) => {
      if (chunk.usage) usages.push(chunk.usage);
    });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBe("I'll check the weather in both cities.");
    expect(
      choice?.message.tool_calls?.map((call) =>
        call.type === 'function' ? [call.id, call.function.name, JSON.parse(call.function.arguments)] : [],
      ),
    ).toEqual([
      ['toolu_01T1x1fJ34qAmk2tNTrN7Up6', 'get_weather', { location: 'San Francisco, CA', unit: 'celsius' }],
      ['toolu_01KxP4rVhXbq5Sx2CzWz3fTn', 'get_weather', { location: 'Paris, France', unit: 'celsius' }],
    ]);
    expect(usages).toEqual([expect.objectContaining({ prompt_tokens: 472, completion_tokens: 118 })]);
    expect(lastUpstream().body).toMatchObject({
      tools: [
        {
          name: 'get_weather',
          description: 'Weather by city',
          input_schema: weatherTool.function.parameters,
        },
      ],
    });
  });

  it('raises the SDK error class that matches each mapped status', async () => {
    const attempt = (model: string) =>
      client().chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
    await expect(attempt('anthropic/error-400')).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(attempt('anthropic/error-429')).rejects.toMatchObject({
      status: 429,
      code: 'upstream_rate_limited',
    });
    await expect(attempt('anthropic/error-429')).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(attempt('anthropic/error-529')).rejects.toMatchObject({
      status: 503,
      type: 'overloaded_error',
    });
    await expect(attempt('anthropic/error-401')).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });
});
