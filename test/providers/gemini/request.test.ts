import { describe, expect, it } from 'vitest';
import type { ChatCompletionRequest, ChatMessage } from '#src/api/wire/chat.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import { skipThoughtSignature, validatesThoughtSignatures } from '#src/providers/gemini/contents.js';
import { toGeminiParameters } from '#src/providers/gemini/function-schema.js';
import { geminiProvider } from '#src/providers/gemini/index.js';
import { toGeminiBody } from '#src/providers/gemini/request.js';
import type { UpstreamTarget } from '#src/providers/provider.js';

function targetFor(
  options: { upstreamModel?: string; supportedParameters?: string[]; apiKey?: string } = {},
): UpstreamTarget {
  const upstreamModel = options.upstreamModel ?? 'gemini-2.5-flash';
  return {
    provider: {
      name: 'google',
      type: 'gemini',
      baseUrl: 'https://generativelanguage.googleapis.com',
      apiKey: 'apiKey' in options ? options.apiKey : 'gemini-test-key',
      isKeyless: false,
      models: [],
      discover: false,
      discoverIntervalMs: 600_000,
      timeouts: {},
    },
    model: {
      id: `google/${upstreamModel}`,
      created: 0,
      ownedBy: 'google',
      slug: upstreamModel,
      displayName: upstreamModel,
      provider: 'google',
      contextWindow: null,
      maxOutputTokens: null,
      pricing: { input: null, output: null, cache_read: null, cache_write: null, request: null, image: null },
      inputModalities: ['text', 'image', 'file'],
      outputModalities: ['text'],
      supportedParameters: options.supportedParameters,
      supportedApis: ['chat', 'responses'],
      upstreamModel,
      aliases: [],
      enabled: true,
      timeouts: {},
    },
  };
}

const target = targetFor();
const user = (content: ChatMessage['content']): ChatMessage => ({ role: 'user', content });
const request = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model: 'google/gemini-2.5-flash',
  messages: [user('Hi')],
  ...extra,
});
const body = (extra: Partial<ChatCompletionRequest>, to: UpstreamTarget = target) =>
  toGeminiBody(request(extra), to);

function rejection(run: () => void): { status: number; code: string; param: string | null } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    const gatewayError = error as GatewayError;
    return { status: gatewayError.status, code: gatewayError.wireCode, param: gatewayError.param };
  }
  throw new Error('expected a rejection');
}

describe('gemini buildRequest: URL, headers, messages', () => {
  it('calls generateContent with the key in x-goog-api-key and never in the URL', () => {
    const upstream = geminiProvider.buildRequest(request(), target);
    expect(upstream.method).toBe('POST');
    expect(upstream.url).toBe(
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent',
    );
    expect(upstream.headers).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      'x-goog-api-key': 'gemini-test-key',
    });
    expect(JSON.parse(upstream.body ?? '')).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
    });
  });

  it('streams through streamGenerateContent?alt=sse', () => {
    const upstream = geminiProvider.buildRequest(request({ stream: true, stream_options: null }), target);
    expect(upstream.url).toBe(
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    );
    expect(upstream.headers.accept).toBe('text/event-stream');
    expect(upstream.url).not.toContain('key=');
  });

  it('sends no key header when the provider has none', () => {
    const upstream = geminiProvider.buildRequest(request(), targetFor({ apiKey: undefined }));
    expect(upstream.headers).not.toHaveProperty('x-goog-api-key');
    expect(upstream.headers).not.toHaveProperty('authorization');
  });

  it('moves system and developer messages to systemInstruction and assistant to model, dropping names', () => {
    expect(
      body({
        messages: [
          { role: 'system', content: 'Be brief.', name: 'ops' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Capital of Italy?', name: 'alice' },
          { role: 'assistant', content: [{ type: 'text', text: 'Rome.' }], name: 'bot' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'And ' },
              { type: 'text', text: 'Spain?' },
            ],
          },
        ],
      }),
    ).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Capital of Italy?' }] },
        { role: 'model', parts: [{ text: 'Rome.' }] },
        { role: 'user', parts: [{ text: 'And ' }, { text: 'Spain?' }] },
      ],
    });
  });

  it('turns data: images and files into inlineData and drops input_audio', () => {
    expect(
      body({
        messages: [
          user([
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
            {
              type: 'file',
              file: { file_data: 'data:application/pdf;base64,JVBERi0xLjQ=', filename: 'a.pdf' },
            },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
          ]),
          user([{ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }]),
        ],
      }),
    ).toEqual({
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'What is this?' },
            { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
            { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0xLjQ=' } },
          ],
        },
      ],
    });
  });

  it('maps tool calls to functionCall and merges consecutive tool results into one functionResponse turn', () => {
    const messages: ChatMessage[] = [
      user('Weather in Paris and Tokyo?'),
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_a',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
          { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: '{"temp":18}' },
      { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: '09:00' }] },
      user('Thanks'),
    ];
    expect(body({ messages }).contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Tokyo?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'get_time', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { output: '{"temp":18}' } } },
          { functionResponse: { name: 'get_time', response: { output: '09:00' } } },
        ],
      },
      { role: 'user', parts: [{ text: 'Thanks' }] },
    ]);
  });

  it('puts signatures from reasoning_details back on the parts they came from', () => {
    const messages: ChatMessage[] = [
      user('Weather?'),
      {
        role: 'assistant',
        content: 'Let me check.',
        reasoning_details: [
          { type: 'reasoning.text', text: 'I should ', format: 'google-gemini-v1' },
          {
            type: 'reasoning.text',
            text: 'call the tool.',
            signature: 'U0lHMQ==',
            format: 'google-gemini-v1',
          },
          { type: 'reasoning.text', text: 'unsigned tail', format: 'google-gemini-v1' },
          { type: 'reasoning.encrypted', data: 'U0lHMg==', format: 'google-gemini-v1' },
          { type: 'reasoning.encrypted', data: 'U0lHMw==', id: 'call_b', format: 'google-gemini-v1' },
          { type: 'reasoning.text', text: 'claude', signature: 'QU5USA==', format: 'anthropic-claude-v1' },
        ],
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'call_b', type: 'function', function: { name: 'b', arguments: '{}' } },
        ],
      },
    ];
    expect(body({ messages }).contents[1]).toEqual({
      role: 'model',
      parts: [
        { text: 'I should call the tool.', thought: true, thoughtSignature: 'U0lHMQ==' },
        { text: 'Let me check.', thoughtSignature: 'U0lHMg==' },
        { functionCall: { name: 'a', args: {} } },
        { functionCall: { name: 'b', args: {} }, thoughtSignature: 'U0lHMw==' },
      ],
    });
  });

  it('signs unsigned first calls of a turn with the documented skip value for Gemini 3 only', () => {
    const messages: ChatMessage[] = [
      user('Go'),
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'c2', type: 'function', function: { name: 'b', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'x' },
      { role: 'tool', tool_call_id: 'c2', content: 'y' },
      {
        role: 'assistant',
        content: null,
        reasoning_details: [
          { type: 'reasoning.encrypted', data: 'UkVBTA==', id: 'c3', format: 'google-gemini-v1' },
          { type: 'reasoning.encrypted', data: 'Q0xBVURF', id: 'c4' },
        ],
        tool_calls: [
          { id: 'c3', type: 'function', function: { name: 'a', arguments: '{}' } },
          { id: 'c4', type: 'function', function: { name: 'b', arguments: '{}' } },
        ],
      },
    ];
    const gemini3 = body({ messages }, targetFor({ upstreamModel: 'gemini-3-pro-preview' })).contents;
    expect(gemini3[1]?.parts.map((part) => part.thoughtSignature)).toEqual([
      skipThoughtSignature,
      skipThoughtSignature,
    ]);
    expect(gemini3[3]?.parts.map((part) => part.thoughtSignature)).toEqual(['UkVBTA==', undefined]);
    const gemini25 = body({ messages }).contents;
    expect(gemini25[1]?.parts.map((part) => part.thoughtSignature)).toEqual([undefined, undefined]);
    expect(validatesThoughtSignatures('gemini-flash-latest')).toBe(true);
    expect(validatesThoughtSignatures('gemini-2.0-flash')).toBe(false);
    expect(validatesThoughtSignatures('gemma-3-27b-it')).toBe(false);
  });
});

describe('gemini buildRequest: tools and generation config', () => {
  const weatherTool = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'Current weather',
      strict: true,
      parameters: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        additionalProperties: false,
        properties: { city: { type: 'string' } },
        required: ['city'],
      },
    },
  };
  const noArgsTool = {
    type: 'function' as const,
    function: { name: 'ping', parameters: { type: 'object' } },
  };

  it('declares functions with stripped schemas', () => {
    expect(body({ tools: [weatherTool, noArgsTool] }).tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Current weather',
            parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] },
          },
          { name: 'ping' },
        ],
      },
    ]);
  });

  it.each([
    ['auto', { functionCallingConfig: { mode: 'AUTO' } }],
    ['none', { functionCallingConfig: { mode: 'NONE' } }],
    ['required', { functionCallingConfig: { mode: 'ANY' } }],
    [
      { type: 'function', function: { name: 'get_weather' } },
      { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
    ],
    [undefined, undefined],
  ] as const)('maps tool_choice %j to toolConfig', (choice, toolConfig) => {
    expect(
      body({ tools: [weatherTool], tool_choice: choice as ChatCompletionRequest['tool_choice'] }).toolConfig,
    ).toEqual(toolConfig);
  });

  it('translates sampling, limits and JSON output, and drops what Gemini cannot take', () => {
    const result = body({
      temperature: 0.3,
      top_p: 0.9,
      stop: 'END',
      max_tokens: 100,
      max_completion_tokens: 256,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'answer',
          strict: true,
          schema: { type: 'object', additionalProperties: false },
        },
      },
      user: 'user-1',
      logit_bias: { '42': 5 },
      logprobs: true,
      top_logprobs: 3,
      parallel_tool_calls: false,
      service_tier: 'flex',
      safety_identifier: 'x',
      prompt_cache_key: 'k',
      verbosity: 'low',
      prediction: { type: 'content', content: 'x' },
      metadata: { a: 1 },
      tags: ['t'],
      store: false,
      some_unknown_key: true,
    });
    expect(result).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      generationConfig: {
        temperature: 0.3,
        topP: 0.9,
        stopSequences: ['END'],
        maxOutputTokens: 256,
        seed: 7,
        presencePenalty: 0.5,
        frequencyPenalty: -0.5,
        responseMimeType: 'application/json',
        responseJsonSchema: { type: 'object', additionalProperties: false },
      },
    });
  });

  it('maps json_object, a stop list, max_tokens and drops a text response_format', () => {
    expect(
      body({ response_format: { type: 'json_object' }, stop: ['a', 'b'], max_tokens: 50 }).generationConfig,
    ).toEqual({ responseMimeType: 'application/json', stopSequences: ['a', 'b'], maxOutputTokens: 50 });
    expect(body({ response_format: { type: 'text' } })).not.toHaveProperty('generationConfig');
  });

  it.each([
    [{ reasoning: { effort: 'minimal' } }, { thinkingBudget: 1024, includeThoughts: true }],
    [{ reasoning: { effort: 'low' } }, { thinkingBudget: 2048, includeThoughts: true }],
    [{ reasoning_effort: 'medium' }, { thinkingBudget: 8192, includeThoughts: true }],
    [{ reasoning: { effort: 'high', exclude: true } }, { thinkingBudget: 24576, includeThoughts: false }],
    [{ reasoning: { effort: 'high', max_tokens: 3000 } }, { thinkingBudget: 3000, includeThoughts: true }],
    [{ reasoning: { effort: 'none' } }, { thinkingBudget: 0 }],
    [
      { reasoning: { effort: 'low' }, reasoning_effort: 'high' },
      { thinkingBudget: 2048, includeThoughts: true },
    ],
    [{ reasoning: {} }, { includeThoughts: true }],
    [{ reasoning: { enabled: false } }, { thinkingBudget: 0 }],
  ] as const)('maps %j to thinkingConfig', (extra, thinkingConfig) => {
    expect(body(extra as Partial<ChatCompletionRequest>).generationConfig?.thinkingConfig).toEqual(
      thinkingConfig,
    );
  });

  it('drops parameters a catalog entry does not list in supported_parameters', () => {
    const limited = targetFor({ supportedParameters: ['temperature', 'max_tokens'] });
    expect(
      body(
        {
          temperature: 1,
          top_p: 0.5,
          seed: 1,
          stop: 'x',
          presence_penalty: 1,
          frequency_penalty: 1,
          reasoning: { effort: 'low' },
          max_tokens: 10,
        },
        limited,
      ).generationConfig,
    ).toEqual({ temperature: 1, maxOutputTokens: 10 });
  });
});

describe('gemini checkRequest (SPEC §4 rejections)', () => {
  const check = (extra: Partial<ChatCompletionRequest>) => () =>
    geminiProvider.checkRequest(request(extra), target);

  it.each([
    [{ functions: [{ name: 'f' }] }, 'unsupported_parameter', 'functions'],
    [{ function_call: 'auto' }, 'unsupported_parameter', 'function_call'],
    [{ web_search_options: {} }, 'unsupported_parameter', 'web_search_options'],
    [
      { messages: [user('x'), { role: 'function', name: 'f', content: 'r' }] },
      'unsupported_parameter',
      'messages[1].role',
    ],
    [{ tools: [{ type: 'custom', custom: { name: 'c' } }] }, 'invalid_value', 'tools[0].type'],
    [{ modalities: ['text', 'audio'] }, 'invalid_value', 'modalities'],
    [{ audio: { voice: 'alloy', format: 'mp3' } }, 'invalid_value', 'audio'],
    [
      {
        messages: [
          user([
            { type: 'text', text: 'x' },
            { type: 'image_url', image_url: { url: 'https://x.test/a.png' } },
          ]),
        ],
      },
      'invalid_value',
      'messages[0].content[1].image_url.url',
    ],
    [
      { messages: [user([{ type: 'image_url', image_url: { url: 'data:image/png,raw' } }])] },
      'invalid_value',
      'messages[0].content[0].image_url.url',
    ],
    [
      { messages: [user([{ type: 'file', file: { file_id: 'file-1' } }])] },
      'invalid_value',
      'messages[0].content[0].file.file_id',
    ],
    [
      { messages: [user([{ type: 'file', file: { filename: 'a.pdf' } }])] },
      'invalid_value',
      'messages[0].content[0].file',
    ],
    [
      { messages: [user('x'), { role: 'tool', tool_call_id: 'call_x', content: 'r' }] },
      'invalid_value',
      'messages[1].tool_call_id',
    ],
  ] as const)('rejects %j', (extra, code, param) => {
    expect(rejection(check(extra as Partial<ChatCompletionRequest>))).toEqual({ status: 400, code, param });
  });

  it('accepts what it can translate, including text-only modalities', () => {
    expect(() =>
      check({ modalities: ['text'], tools: [{ type: 'function', function: { name: 'f' } }] })(),
    ).not.toThrow();
  });

  it('rejects a conversation with nothing but system messages, and non-object tool arguments', () => {
    const onlySystem: Partial<ChatCompletionRequest> = {
      messages: [{ role: 'system', content: 'only a system prompt' }],
    };
    expect(rejection(check(onlySystem))).toEqual({ status: 400, code: 'invalid_value', param: 'messages' });
    expect(rejection(() => body(onlySystem))).toEqual({
      status: 400,
      code: 'invalid_value',
      param: 'messages',
    });
    const messages: ChatMessage[] = [
      user('x'),
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }],
      },
    ];
    for (const run of [check({ messages }), () => body({ messages })]) {
      expect(rejection(run)).toEqual({
        status: 400,
        code: 'invalid_value',
        param: 'messages[1].tool_calls[0].function.arguments',
      });
    }
  });
});

describe('gemini function schema translation', () => {
  it('strips keywords outside the Schema subset and translates the rest', () => {
    expect(
      toGeminiParameters({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: 'urn:x',
        type: 'object',
        additionalProperties: false,
        properties: {
          mode: { const: 'fast' },
          level: { type: 'integer', enum: [1, 2, null], exclusiveMinimum: 0, multipleOf: 1 },
          note: { type: ['string', 'null'], format: 'uri', minLength: 1, examples: ['x'] },
          when: { type: 'string', format: 'date-time' },
          tags: { type: 'array', items: { type: 'string' }, uniqueItems: true, maxItems: 5 },
          meta: {
            type: 'object',
            propertyNames: { pattern: '^a' },
            additionalProperties: { type: 'string' },
          },
          choice: { oneOf: [{ type: 'string' }, { type: 'number' }] },
          either: { type: ['string', 'number'] },
        },
        required: ['mode', 'missing'],
      }),
    ).toEqual({
      type: 'OBJECT',
      properties: {
        mode: { enum: ['fast'], type: 'STRING' },
        level: { type: 'INTEGER', nullable: true, enum: ['1', '2'] },
        note: { type: 'STRING', nullable: true, minLength: 1 },
        when: { type: 'STRING', format: 'date-time' },
        tags: { type: 'ARRAY', maxItems: 5, items: { type: 'STRING' } },
        meta: { type: 'OBJECT' },
        choice: { anyOf: [{ type: 'STRING' }, { type: 'NUMBER' }] },
        either: { anyOf: [{ type: 'STRING' }, { type: 'NUMBER' }] },
      },
      required: ['mode'],
    });
  });

  it('inlines $ref/$defs, flattens optional anyOf and allOf, and cuts reference cycles', () => {
    expect(
      toGeminiParameters({
        type: 'object',
        $defs: {
          Address: { type: 'object', properties: { street: { type: 'string' } }, required: ['street'] },
          Node: {
            type: 'object',
            properties: { child: { $ref: '#/$defs/Node' }, label: { type: 'string' } },
          },
        },
        properties: {
          home: { $ref: '#/$defs/Address', description: 'Home address' },
          work: { anyOf: [{ $ref: '#/$defs/Address' }, { type: 'null' }] },
          base: { allOf: [{ $ref: '#/$defs/Address' }], description: 'Base' },
          tree: { $ref: '#/$defs/Node' },
          unknown: { $ref: '#/components/schemas/Elsewhere' },
        },
      }),
    ).toEqual({
      type: 'OBJECT',
      properties: {
        home: {
          type: 'OBJECT',
          properties: { street: { type: 'STRING' } },
          required: ['street'],
          description: 'Home address',
        },
        work: {
          nullable: true,
          type: 'OBJECT',
          properties: { street: { type: 'STRING' } },
          required: ['street'],
        },
        base: {
          description: 'Base',
          type: 'OBJECT',
          properties: { street: { type: 'STRING' } },
          required: ['street'],
        },
        tree: {
          type: 'OBJECT',
          properties: { child: {}, label: { type: 'STRING' } },
        },
        unknown: {},
      },
    });
  });

  it('omits parameters for functions without properties', () => {
    expect(toGeminiParameters(undefined)).toBeUndefined();
    expect(toGeminiParameters({ type: 'object', properties: {} })).toBeUndefined();
    expect(toGeminiParameters({ type: 'object', additionalProperties: true })).toBeUndefined();
  });
});
