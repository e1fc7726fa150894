import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openAiFormat } from '#src/fake-upstream/formats.js';
import { geminiFormat } from '#src/fake-upstream/gemini-format.js';
import { geminiProvider } from '#src/providers/gemini/index.js';
import { providerRegistry } from '#src/providers/registry.js';
import { parseSse, startTestGateway, type TestGateway } from '../../support/gateway.js';
import { assertOpenAiSchema } from '../../support/openai-schema.js';

const scenarios = [
  'echo',
  'text',
  'function-call',
  'thinking',
  'cached-usage',
  'safety-block',
  'safety-stop',
  'broken-stream',
  'mid-stream-error',
  'error-400',
  'error-api-key',
  'error-403',
  'error-429',
  'error-500',
  'error-503',
];

let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  gateway = await startTestGateway({
    providers: { ...providerRegistry, gemini: geminiProvider },
    fake: { formats: [openAiFormat, geminiFormat] },
    file: {
      models: scenarios.map((scenario) => ({
        id: `google/${scenario}`,
        provider: 'google',
        upstream_model: scenario,
        input_modalities: ['text', 'image'],
      })),
    },
  });
  client = new OpenAI({
    apiKey: gateway.headers.authorization?.slice(7),
    baseURL: `${gateway.url}/v1`,
    maxRetries: 0,
  });
});
afterAll(async () => gateway.close());
beforeEach(() => gateway.fake.reset());

/** Reads a Maniac extension field the SDK types do not declare. */
const field = (value: object | undefined, name: string): unknown =>
  value ? Reflect.get(value, name) : undefined;

function lastUpstream() {
  const recorded = gateway.fake.requests.at(-1);
  if (!recorded) throw new Error('the fake upstream saw no request');
  return recorded;
}

async function post(body: Record<string, unknown>) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: gateway.headers,
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('gemini through the gateway: JSON', () => {
  it('answers with the official SDK and sends Google the key, never the client credential', async () => {
    const completion = await client.chat.completions.create({
      model: 'google/text',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Capital of France?' },
      ],
      temperature: 0.2,
      max_completion_tokens: 64,
      user: 'u-1',
    });
    assertOpenAiSchema('CreateChatCompletionResponse', completion);
    expect(completion.choices[0]?.message.content).toBe('Paris is the capital of France.');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.model).toBe('google/text');
    expect(field(completion, 'provider')).toBe('google');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 7, total_tokens: 15 });

    const upstream = lastUpstream();
    expect(upstream.path).toBe('/v1beta/models/text:generateContent');
    expect(upstream.format).toBe('gemini');
    expect(upstream.headers['x-goog-api-key']).toBe('gemini-provider-secret');
    expect(upstream.headers.authorization).toBeUndefined();
    expect(upstream.body).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [{ role: 'user', parts: [{ text: 'Capital of France?' }] }],
      generationConfig: { temperature: 0.2, maxOutputTokens: 64 },
    });
  });

  it('echoes the last user text through the fake Gemini format', async () => {
    const completion = await client.chat.completions.create({
      model: 'google/echo',
      messages: [{ role: 'user', content: 'hello gemini' }],
    });
    expect(completion.choices[0]?.message.content).toBe('Echo: hello gemini');
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it('returns tool calls, then sends the signature and tool results back on the next turn', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: {
            type: 'object',
            properties: {
              city: { type: 'string' },
              unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
            },
            required: ['city'],
            additionalProperties: false,
          },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Weather in Paris and Tokyo?' },
    ];
    const first = await client.chat.completions.create({ model: 'google/function-call', messages, tools });
    assertOpenAiSchema('CreateChatCompletionResponse', first);
    const message = first.choices[0]?.message;
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    const calls = (message?.tool_calls ?? []) as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(calls.map((call) => JSON.parse(call.function.arguments))).toEqual([
      { city: 'Paris', unit: 'celsius' },
      { city: 'Tokyo', unit: 'celsius' },
    ]);
    expect(lastUpstream().body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            parameters: {
              type: 'OBJECT',
              properties: {
                city: { type: 'STRING' },
                unit: { type: 'STRING', enum: ['celsius', 'fahrenheit'] },
              },
              required: ['city'],
            },
          },
        ],
      },
    ]);

    const followUp: OpenAI.ChatCompletionMessageParam[] = [
      ...messages,
      message as OpenAI.ChatCompletionMessageParam,
      { role: 'tool', tool_call_id: calls[0]?.id ?? '', content: '18°C' },
      { role: 'tool', tool_call_id: calls[1]?.id ?? '', content: '24°C' },
    ];
    const second = await client.chat.completions.create({ model: 'google/echo', messages: followUp, tools });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    const contents = lastUpstream().body.contents as { role: string; parts: Record<string, unknown>[] }[];
    const signature = (field(message, 'reasoning_details') as { data: string }[])[0]?.data;
    expect(signature).toMatch(/^[A-Za-z0-9+/]{40,}={0,2}$/);
    expect(contents.slice(1)).toEqual([
      {
        role: 'model',
        parts: [
          {
            functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
            thoughtSignature: signature,
          },
          { functionCall: { name: 'get_weather', args: { city: 'Tokyo', unit: 'celsius' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { output: '18°C' } } },
          { functionResponse: { name: 'get_weather', response: { output: '24°C' } } },
        ],
      },
    ]);
  });

  it('translates reasoning effort and returns thoughts unless excluded', async () => {
    const thinking = await client.chat.completions.create({
      model: 'google/thinking',
      messages: [{ role: 'user', content: '17 + 25?' }],
      reasoning_effort: 'low',
    });
    assertOpenAiSchema('CreateChatCompletionResponse', thinking);
    const message = thinking.choices[0]?.message;
    expect(message?.content).toBe('17 + 25 = 42.');
    expect(field(message, 'reasoning')).toMatch(/Calculating the sum/);
    expect(thinking.usage?.completion_tokens_details?.reasoning_tokens).toBe(164);
    expect(lastUpstream().body.generationConfig).toEqual({
      thinkingConfig: { thinkingBudget: 2048, includeThoughts: true },
    });

    const { status, text } = await post({
      model: 'google/thinking',
      messages: [{ role: 'user', content: '17 + 25?' }],
      reasoning: { effort: 'high', exclude: true },
    });
    expect(status).toBe(200);
    const excluded = JSON.parse(text);
    expect(excluded.choices[0].message).not.toHaveProperty('reasoning');
    expect(excluded.choices[0].message).not.toHaveProperty('reasoning_details');
    expect(lastUpstream().body.generationConfig).toEqual({
      thinkingConfig: { thinkingBudget: 24576, includeThoughts: false },
    });
  });

  it('reports cached tokens and blocked prompts', async () => {
    const cached = await client.chat.completions.create({
      model: 'google/cached-usage',
      messages: [{ role: 'user', content: 'Warranty?' }],
    });
    expect(cached.usage?.prompt_tokens_details?.cached_tokens).toBe(4096);
    const blocked = await client.chat.completions.create({
      model: 'google/safety-block',
      messages: [{ role: 'user', content: 'something unsafe' }],
    });
    assertOpenAiSchema('CreateChatCompletionResponse', blocked);
    expect(blocked.choices[0]?.finish_reason).toBe('content_filter');
    expect(blocked.choices[0]?.message.content).toBeNull();
  });
});

describe('gemini through the gateway: streams', () => {
  it('streams text with the SDK, one finish_reason and the usage chunk last', async () => {
    const stream = await client.chat.completions.create({
      model: 'google/text',
      messages: [{ role: 'user', content: 'Tell me about Paris' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
      chunks.push(chunk);
    }
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(
      'Paris is the capital of France. It is known for the Eiffel Tower and the Louvre.',
    );
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason)).toHaveLength(1);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 18, total_tokens: 26 });
    expect(lastUpstream().path).toBe('/v1beta/models/text:streamGenerateContent');
    expect(lastUpstream().headers.accept).toBe('text/event-stream');
  });

  it('assembles streamed parallel tool calls with the SDK helper', async () => {
    const runner = client.chat.completions.stream({
      model: 'google/function-call',
      messages: [{ role: 'user', content: 'Weather in Paris and Tokyo?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    });
    const final = await runner.finalChatCompletion();
    const calls = (final.choices[0]?.message.tool_calls ??
      []) as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(calls.map((call) => [call.function.name, JSON.parse(call.function.arguments).city])).toEqual([
      ['get_weather', 'Paris'],
      ['get_weather', 'Tokyo'],
    ]);
    expect(calls[0]?.id).toMatch(/^call_/);
    expect(calls[0]?.id).not.toBe(calls[1]?.id);
  });

  it('streams the echo scenario framed as Google frames SSE', async () => {
    const { status, headers, text } = await post({
      model: 'google/echo',
      stream: true,
      messages: [{ role: 'user', content: 'stream me back please' }],
    });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const { data } = parseSse(text);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((item) => JSON.parse(item));
    for (const chunk of chunks) assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(
      'Echo: stream me back please',
    );
    expect(chunks.every((chunk) => !('usage' in chunk))).toBe(true);
  });

  it.each([
    ['broken-stream', 'The first three primes are', 'upstream_invalid_response'],
    ['mid-stream-error', 'Once upon a time', 'upstream_overloaded'],
  ])('ends %s with an in-band error and [DONE]', async (scenario, content, code) => {
    const { status, text } = await post({
      model: `google/${scenario}`,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'go' }],
    });
    expect(status).toBe(200);
    const { data } = parseSse(text);
    expect(data.at(-1)).toBe('[DONE]');
    const error = JSON.parse(data.at(-2) ?? '{}');
    assertOpenAiSchema('ErrorResponse', error);
    expect(error.error.code).toBe(code);
    const chunks = data.slice(0, -2).map((item) => JSON.parse(item));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(content);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
  });

  it('returns a stream that fails before its first event as a JSON error', async () => {
    const { status, headers, text } = await post({
      model: 'google/error-429',
      stream: true,
      messages: [{ role: 'user', content: 'go' }],
    });
    expect(status).toBe(429);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(headers.get('retry-after')).toBe('35');
    const body = JSON.parse(text);
    assertOpenAiSchema('ErrorResponse', body);
    expect(body.error.code).toBe('upstream_rate_limited');
  });
});

describe('gemini through the gateway: errors and rejections', () => {
  it.each([
    ['error-400', 400, OpenAI.BadRequestError, 'upstream_bad_request', 'invalid_request_error'],
    ['error-api-key', 502, OpenAI.InternalServerError, 'upstream_auth_failed', 'api_error'],
    ['error-403', 502, OpenAI.InternalServerError, 'upstream_auth_failed', 'api_error'],
    ['error-429', 429, OpenAI.RateLimitError, 'upstream_rate_limited', 'rate_limit_error'],
    ['error-500', 502, OpenAI.InternalServerError, 'upstream_error', 'api_error'],
    ['error-503', 503, OpenAI.InternalServerError, 'upstream_overloaded', 'overloaded_error'],
  ] as const)('maps %s to %i with the SDK error class', async (scenario, status, errorClass, code, type) => {
    const failure = await client.chat.completions
      .create({ model: `google/${scenario}`, messages: [{ role: 'user', content: 'x' }] })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(errorClass);
    const apiError = failure as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(status);
    expect(apiError.code).toBe(code);
    expect(apiError.type).toBe(type);
    assertOpenAiSchema('ErrorResponse', { error: apiError.error });
    expect(JSON.stringify(apiError.error)).not.toContain('gemini-provider-secret');
  });

  it('falls back to the next candidate when Gemini is overloaded', async () => {
    const { status, headers, text } = await post({
      model: 'google/error-503',
      models: ['google/text'],
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(status).toBe(200);
    expect(headers.get('x-maniac-attempts')).toBe('2');
    expect(JSON.parse(text).model).toBe('google/text');
  });

  it.each([
    [
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        ],
      },
      'invalid_value',
      'messages[0].content[0].image_url.url',
    ],
    [
      { messages: [{ role: 'user', content: 'x' }], web_search_options: {} },
      'unsupported_parameter',
      'web_search_options',
    ],
    [
      { messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'custom', custom: { name: 'grep' } }] },
      'invalid_value',
      'tools[0].type',
    ],
  ])('rejects %j before any upstream call', async (extra, code, param) => {
    const { status, text } = await post({ model: 'google/text', ...extra });
    expect(status).toBe(400);
    const body = JSON.parse(text);
    assertOpenAiSchema('ErrorResponse', body);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code, param });
    expect(gateway.fake.requests).toHaveLength(0);
  });
});
