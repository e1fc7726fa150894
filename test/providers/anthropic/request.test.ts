import { describe, expect, it } from 'vitest';
import type { ChatCompletionRequest } from '#src/api/wire/chat.js';
import type { ProviderConfig } from '#src/config/config.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import { anthropicProvider } from '#src/providers/anthropic/index.js';
import { toAnthropicRequest } from '#src/providers/anthropic/request.js';
import type { UpstreamTarget } from '#src/providers/provider.js';
import type { CatalogModel } from '#src/routing/model-catalog.js';

const provider: ProviderConfig = {
  name: 'anthropic',
  type: 'anthropic',
  baseUrl: 'https://api.anthropic.com',
  apiKey: 'sk-ant-provider-secret',
  isKeyless: false,
  models: [],
  discover: false,
  discoverIntervalMs: 600_000,
  timeouts: {},
};

function targetWith(model: Partial<CatalogModel> = {}): UpstreamTarget {
  return {
    provider,
    model: {
      id: 'anthropic/claude-sonnet-4-5',
      created: 0,
      ownedBy: 'anthropic',
      slug: 'claude-sonnet-4-5',
      displayName: 'Claude Sonnet 4.5',
      provider: 'anthropic',
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      pricing: { input: null, output: null, cache_read: null, cache_write: null, request: null, image: null },
      inputModalities: ['text', 'image', 'file'],
      outputModalities: ['text'],
      supportedParameters: undefined,
      supportedApis: ['chat', 'responses'],
      upstreamModel: 'claude-sonnet-4-5',
      aliases: [],
      enabled: true,
      timeouts: {},
      ...model,
    },
  };
}

const target = targetWith();
const hi = [{ role: 'user' as const, content: 'hi' }];

function body(request: Partial<ChatCompletionRequest>, at: UpstreamTarget = target) {
  return toAnthropicRequest({ model: 'anthropic/claude-sonnet-4-5', messages: hi, ...request }, at);
}

function rejection(request: Partial<ChatCompletionRequest>, at: UpstreamTarget = target): GatewayError {
  try {
    anthropicProvider.checkRequest({ model: 'anthropic/claude-sonnet-4-5', messages: hi, ...request }, at);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('anthropic request: messages', () => {
  it('moves system and developer text to system blocks, keeping cache_control, and merges same-role runs', () => {
    expect(
      body({
        messages: [
          { role: 'system', content: 'You are terse.' },
          {
            role: 'developer',
            content: [{ type: 'text', text: 'Long manual…', cache_control: { type: 'ephemeral' } }],
          },
          { role: 'user', content: 'first', name: 'ann' },
          { role: 'user', content: [{ type: 'text', text: 'second', cache_control: { type: 'ephemeral' } }] },
          { role: 'assistant', content: 'ok' },
        ],
      }),
    ).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 64_000,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Long manual…', cache_control: { type: 'ephemeral' } },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'first' },
            { type: 'text', text: 'second', cache_control: { type: 'ephemeral' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
      ],
    });
  });

  it('turns tool calls into tool_use and tool messages into one user turn of tool_result blocks first', () => {
    const { messages } = body({
      messages: [
        { role: 'user', content: 'Weather in SF and Paris?' },
        {
          role: 'assistant',
          content: null,
          reasoning_details: [
            { type: 'reasoning.text', text: 'Two cities.', signature: 'sig-1' },
            { type: 'reasoning.text', text: 'unsigned, cannot be replayed' },
            { type: 'reasoning.encrypted', data: 'opaque' },
          ],
          tool_calls: [
            {
              id: 'toolu_01',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"SF"}' },
            },
            { id: 'toolu_02', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_01', content: '18°C' },
        { role: 'user', content: 'Be brief.' },
        { role: 'tool', tool_call_id: 'toolu_02', content: [{ type: 'text', text: '09:00' }] },
      ],
    });
    expect(messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in SF and Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Two cities.', signature: 'sig-1' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'SF' } },
          { type: 'tool_use', id: 'toolu_02', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'toolu_02', content: [{ type: 'text', text: '09:00' }] },
          { type: 'text', text: 'Be brief.' },
        ],
      },
    ]);
  });

  it('maps images (data URL → base64, https → url), PDF and text files, and drops input_audio', () => {
    const { messages } = body({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
            {
              type: 'image_url',
              image_url: { url: 'https://example.com/cat.jpg' },
              cache_control: { type: 'ephemeral' },
            },
            {
              type: 'file',
              file: { file_data: 'data:application/pdf;base64,JVBERi0xLjQ=', filename: 'spec.pdf' },
            },
            { type: 'file', file: { file_data: 'data:text/plain;base64,aGVsbG8=' } },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
          ],
        },
      ],
    });
    expect(messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Look' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          {
            type: 'image',
            source: { type: 'url', url: 'https://example.com/cat.jpg' },
            cache_control: { type: 'ephemeral' },
          },
          {
            type: 'document',
            source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0xLjQ=' },
            title: 'spec.pdf',
          },
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hello' } },
        ],
      },
    ]);
  });

  it('removes messages left empty and rejects a conversation with none left', () => {
    const audioOnly = {
      role: 'user' as const,
      content: [{ type: 'input_audio' as const, input_audio: { data: 'x', format: 'wav' as const } }],
    };
    expect(body({ messages: [audioOnly, { role: 'user', content: 'hi' }] }).messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
    ]);
    const error = rejection({ messages: [{ role: 'system', content: 'x' }, audioOnly] });
    expect([error.status, error.code, error.param]).toEqual([400, 'invalid_value', 'messages']);
  });
});

describe('anthropic request: parameters', () => {
  it('sends max_tokens as max_completion_tokens ?? max_tokens ?? catalog ?? 4096', () => {
    expect(body({ max_completion_tokens: 100, max_tokens: 200 }).max_tokens).toBe(100);
    expect(body({ max_tokens: 200 }).max_tokens).toBe(200);
    expect(body({}).max_tokens).toBe(64_000);
    expect(body({}, targetWith({ maxOutputTokens: null })).max_tokens).toBe(4096);
  });

  it('maps reasoning to a thinking budget and raises max_tokens by it', () => {
    expect(body({ reasoning_effort: 'low', max_completion_tokens: 1000 })).toMatchObject({
      max_tokens: 3048,
      thinking: { type: 'enabled', budget_tokens: 2048 },
    });
    expect(
      body({ reasoning: { effort: 'high' }, reasoning_effort: 'minimal', max_tokens: 10 }).thinking,
    ).toEqual({
      type: 'enabled',
      budget_tokens: 24576,
    });
    expect(body({ reasoning: { max_tokens: 5000 }, max_tokens: 10 })).toMatchObject({
      max_tokens: 5010,
      thinking: { type: 'enabled', budget_tokens: 5000 },
    });
    expect(body({ reasoning: { enabled: true }, max_tokens: 10 }).thinking?.budget_tokens).toBe(8192);
    expect(body({ reasoning: { effort: 'none', max_tokens: 5000 } }).thinking).toBeUndefined();
    expect(
      body({ reasoning_effort: 'medium' }, targetWith({ supportedParameters: ['temperature'] })).thinking,
    ).toBeUndefined();
  });

  it('stops raising max_tokens at the model limit while that leaves room above the budget', () => {
    expect(body({ reasoning_effort: 'high' })).toMatchObject({
      max_tokens: 64_000,
      thinking: { budget_tokens: 24576 },
    });
    expect(body({ reasoning_effort: 'high' }, targetWith({ maxOutputTokens: 8000 })).max_tokens).toBe(32_576);
  });

  it('maps stop, temperature, top_p and user, and drops what the catalog entry does not list', () => {
    expect(body({ stop: 'END', temperature: 0.2, top_p: 0.9, user: 'user-42' })).toMatchObject({
      stop_sequences: ['END'],
      temperature: 0.2,
      top_p: 0.9,
      metadata: { user_id: 'user-42' },
    });
    expect(body({ stop: ['a', 'b'] }).stop_sequences).toEqual(['a', 'b']);
    const limited = body(
      { stop: 'END', temperature: 0.2, top_p: 0.9 },
      targetWith({ supportedParameters: ['temperature', 'max_tokens'] }),
    );
    expect(limited).toMatchObject({ temperature: 0.2 });
    expect(limited).not.toHaveProperty('top_p');
    expect(limited).not.toHaveProperty('stop_sequences');
  });

  it('drops the parameters the table drops and unknown top-level keys', () => {
    expect(
      body({
        stream: true,
        stream_options: { include_usage: true },
        frequency_penalty: 0.5,
        presence_penalty: 0.5,
        seed: 7,
        logit_bias: { '42': 1 },
        logprobs: true,
        top_logprobs: 2,
        n: 1,
        service_tier: 'auto',
        prompt_cache_key: 'k',
        safety_identifier: 's',
        verbosity: 'low',
        prediction: { type: 'content', content: 'x' },
        response_format: { type: 'text' },
        store: true,
        metadata: { a: 1 },
        tags: ['t'],
        trace: { id: 'tr' },
        models: ['anthropic/other'],
        provider: { order: ['x'] },
        some_future_key: true,
      }),
    ).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 64_000,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      stream: true,
    });
  });

  it('maps tools and tool_choice, with parallel_tool_calls false as disable_parallel_tool_use', () => {
    const tools: ChatCompletionRequest['tools'] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather by city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
          strict: true,
        },
      },
      { type: 'function', function: { name: 'now' } },
    ];
    expect(body({ tools }).tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather by city',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(
      body({ tools }, targetWith({ supportedParameters: ['structured_outputs'] })).tools?.[0]?.strict,
    ).toBe(true);
    expect(body({ tools }).tool_choice).toBeUndefined();
    expect(body({ tools, tool_choice: 'auto' }).tool_choice).toEqual({ type: 'auto' });
    expect(body({ tools, tool_choice: 'required' }).tool_choice).toEqual({ type: 'any' });
    expect(body({ tools, tool_choice: 'none' }).tool_choice).toEqual({ type: 'none' });
    expect(body({ tools, tool_choice: { type: 'function', function: { name: 'now' } } }).tool_choice).toEqual(
      {
        type: 'tool',
        name: 'now',
      },
    );
    expect(body({ tools, parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    expect(body({ tools, tool_choice: 'required', parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'any',
      disable_parallel_tool_use: true,
    });
    expect(body({ tools, tool_choice: 'none', parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'none',
    });
  });

  it('answers response_format json with a forced json_response tool, or natively where the model has it', () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    };
    expect(body({ response_format: { type: 'json_object' } })).toMatchObject({
      tools: [
        {
          name: 'json_response',
          description: 'Respond with a JSON object.',
          input_schema: { type: 'object' },
        },
      ],
      tool_choice: { type: 'tool', name: 'json_response' },
    });
    const named = {
      type: 'json_schema' as const,
      json_schema: { name: 'city', description: 'A city', schema, strict: true },
    };
    expect(body({ response_format: named })).toMatchObject({
      tools: [{ name: 'json_response', description: 'A city', input_schema: schema }],
      tool_choice: { type: 'tool', name: 'json_response' },
    });
    const native = body(
      { response_format: named },
      targetWith({ supportedParameters: ['structured_outputs'] }),
    );
    expect(native.output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(native).not.toHaveProperty('tools');
  });

  it('posts to /v1/messages with x-api-key and the pinned anthropic-version, never an Authorization header', () => {
    const upstream = anthropicProvider.buildRequest({ model: 'x', messages: hi, stream: true }, target);
    expect(upstream.method).toBe('POST');
    expect(upstream.url).toBe('https://api.anthropic.com/v1/messages');
    expect(upstream.headers).toEqual({
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'anthropic-version': '2023-06-01',
      'x-api-key': 'sk-ant-provider-secret',
    });
    expect(JSON.parse(upstream.body ?? '')).toMatchObject({ model: 'claude-sonnet-4-5', stream: true });
  });
});

describe('anthropic checkRequest', () => {
  it('accepts a plain request', () => {
    expect(() => anthropicProvider.checkRequest({ model: 'x', messages: hi }, target)).not.toThrow();
  });

  it.each([
    [{ functions: [{ name: 'f' }] }, 'unsupported_parameter', 'functions'],
    [{ function_call: 'auto' }, 'unsupported_parameter', 'function_call'],
    [{ web_search_options: {} }, 'unsupported_parameter', 'web_search_options'],
    [
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'function', name: 'f', content: '1' },
        ],
      },
      'unsupported_parameter',
      'messages[1].role',
    ],
    [{ tools: [{ type: 'web_search' }] }, 'invalid_value', 'tools[0]'],
    [{ temperature: 1.5 }, 'invalid_value', 'temperature'],
    [{ modalities: ['text', 'audio'] }, 'invalid_value', 'modalities'],
    [{ audio: { voice: 'alloy', format: 'mp3' } }, 'invalid_value', 'audio'],
    [
      {
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
      'invalid_value',
      'messages[0].content[1]',
    ],
    [
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'file', file: { file_data: 'data:application/zip;base64,UEs=' } }],
          },
        ],
      },
      'invalid_value',
      'messages[0].content[0]',
    ],
    [
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }],
          },
        ],
      },
      'invalid_value',
      'messages[0].content[0]',
    ],
    [
      {
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'assistant',
            tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '[1]' } }],
          },
        ],
      },
      'invalid_value',
      'messages[1].tool_calls[0].function.arguments',
    ],
    [
      { response_format: { type: 'json_object' }, tools: [{ type: 'function', function: { name: 'f' } }] },
      'unsupported_parameter',
      'response_format',
    ],
    [
      { response_format: { type: 'json_object' }, reasoning_effort: 'low' },
      'unsupported_parameter',
      'response_format',
    ],
  ] as [Partial<ChatCompletionRequest>, string, string][])(
    'rejects %j with %s at %s',
    (request, code, param) => {
      const error = rejection(request);
      expect(error.status).toBe(400);
      expect(error.type).toBe('invalid_request_error');
      expect(error.wireCode).toBe(code);
      expect(error.param).toBe(param);
    },
  );

  it('lets a dropped temperature through and native structured outputs sit beside tools', () => {
    const noTemperature = targetWith({ supportedParameters: ['max_tokens'] });
    expect(() =>
      anthropicProvider.checkRequest({ model: 'x', messages: hi, temperature: 1.5 }, noTemperature),
    ).not.toThrow();
    const native = targetWith({ supportedParameters: ['structured_outputs', 'tools'] });
    const request: ChatCompletionRequest = {
      model: 'x',
      messages: hi,
      tools: [{ type: 'function', function: { name: 'f' } }],
      response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'object' } } },
    };
    expect(() => anthropicProvider.checkRequest(request, native)).not.toThrow();
  });
});
