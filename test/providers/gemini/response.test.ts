import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk, ChatCompletionRequest, ToolCallDelta, Usage } from '#src/api/wire/chat.js';
import { estimatedUsage, normalizeUsage } from '#src/billing/usage-estimate.js';
import { geminiFormat } from '#src/fake-upstream/gemini-format.js';
import { geminiProvider } from '#src/providers/gemini/index.js';
import { geminiToolCallId, mapGeminiFinishReason } from '#src/providers/gemini/response.js';
import type { TranslationContext, UpstreamTarget } from '#src/providers/provider.js';
import { ChatChunkWriter } from '#src/stream/chat-chunk-writer.js';
import { SseDecoder } from '#src/stream/sse-decoder.js';
import type { StreamPart } from '#src/stream/stream-part.js';
import { assertOpenAiSchema } from '../../support/openai-schema.js';

const fixtures = new URL('../../../src/providers/gemini/__fixtures__/', import.meta.url);
const readFixture = (name: string) => readFileSync(new URL(name, fixtures), 'utf8');
const jsonFixture = (name: string) =>
  JSON.parse(readFixture(`${name}.json`)) as { status?: number; body: unknown };

const target: UpstreamTarget = {
  provider: {
    name: 'google',
    type: 'gemini',
    baseUrl: 'http://127.0.0.1:1',
    apiKey: 'k',
    isKeyless: false,
    models: [],
    discover: false,
    discoverIntervalMs: 600_000,
    timeouts: {},
  },
  model: {
    id: 'google/gemini-2.5-flash',
    created: 0,
    ownedBy: 'google',
    slug: 'gemini-2.5-flash',
    displayName: 'Gemini 2.5 Flash',
    provider: 'google',
    contextWindow: null,
    maxOutputTokens: null,
    pricing: { input: null, output: null, cache_read: null, cache_write: null, request: null, image: null },
    inputModalities: ['text'],
    outputModalities: ['text'],
    supportedParameters: undefined,
    supportedApis: ['chat'],
    upstreamModel: 'gemini-2.5-flash',
    aliases: [],
    enabled: true,
    timeouts: {},
  },
};
const request: ChatCompletionRequest = {
  model: 'google/gemini-2.5-flash',
  messages: [{ role: 'user', content: 'x' }],
};
const context: TranslationContext = { request, target };

function parse(name: string) {
  return geminiProvider.parseResponse(jsonFixture(name).body, context);
}

describe('gemini parseResponse', () => {
  it('reads text, the finish reason and usage', () => {
    const completion = parse('text');
    expect(completion.message).toEqual({
      role: 'assistant',
      content: 'Paris is the capital of France.',
      refusal: null,
    });
    expect(completion.finishReason).toBe('stop');
    expect(completion.logprobs).toBeNull();
    expect(completion.upstreamId).toBe('Yk3vaOmQIcKKz7IPlPSo4Ac');
    expect(completion.usage).toEqual({
      prompt_tokens: 8,
      completion_tokens: 7,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('turns parallel functionCall parts into tool calls with distinct call_ ids and keeps the signature', () => {
    const completion = parse('function-call');
    const calls = completion.message.tool_calls ?? [];
    expect(calls.map((call) => call.function)).toEqual([
      { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
      { name: 'get_weather', arguments: '{"city":"Tokyo","unit":"celsius"}' },
    ]);
    expect(calls.every((call) => /^call_[A-Za-z0-9]{24}$/.test(call.id) && call.type === 'function')).toBe(
      true,
    );
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
    expect(completion.message.content).toBeNull();
    expect(completion.finishReason).toBe('tool_calls');
    const signature = (
      jsonFixture('function-call').body as {
        candidates: { content: { parts: { thoughtSignature?: string }[] } }[];
      }
    ).candidates[0]?.content.parts[0]?.thoughtSignature;
    expect(completion.message.reasoning_details).toEqual([
      {
        type: 'reasoning.encrypted',
        data: signature,
        id: calls[0]?.id,
        format: 'google-gemini-v1',
        index: 0,
      },
    ]);
    expect(completion.usage).toMatchObject({
      prompt_tokens: 74,
      completion_tokens: 148,
      total_tokens: 222,
      completion_tokens_details: { reasoning_tokens: 112 },
    });
  });

  it('derives tool call ids from the response id and the call index', () => {
    const call = { name: 'f', args: {} };
    expect(geminiToolCallId('r1', 0, call)).toBe(geminiToolCallId('r1', 0, { name: 'other' }));
    expect(geminiToolCallId('r1', 0, call)).not.toBe(geminiToolCallId('r1', 1, call));
    expect(geminiToolCallId('r1', 0, call)).not.toBe(geminiToolCallId('r2', 0, call));
    expect(geminiToolCallId(undefined, 0, call)).not.toBe(geminiToolCallId(undefined, 0, { name: 'g' }));
  });

  it('puts thought parts in reasoning and reasoning_details, with the signature of the answer', () => {
    const completion = parse('thinking');
    expect(completion.message.content).toBe('17 + 25 = 42.');
    expect(completion.message.reasoning).toMatch(/^\*\*Calculating the sum\*\*/);
    expect(completion.message.reasoning_details?.map((detail) => detail.type)).toEqual([
      'reasoning.text',
      'reasoning.encrypted',
    ]);
    expect(completion.message.reasoning_details?.[0]).toMatchObject({ text: completion.message.reasoning });
    expect(completion.message.reasoning_details?.[1]).not.toHaveProperty('id');
    expect(completion.usage).toMatchObject({
      completion_tokens: 173,
      completion_tokens_details: { reasoning_tokens: 164 },
    });
  });

  it('reports cached prompt tokens inside prompt_tokens', () => {
    expect(parse('cached-usage').usage).toMatchObject({
      prompt_tokens: 4210,
      completion_tokens: 52,
      total_tokens: 4262,
      prompt_tokens_details: { cached_tokens: 4096 },
    });
  });

  it('answers a blocked prompt with content_filter and no content', () => {
    const completion = parse('safety-block');
    expect(completion.finishReason).toBe('content_filter');
    expect(completion.message).toEqual({ role: 'assistant', content: null, refusal: null });
    expect(completion.usage?.prompt_tokens).toBe(11);
  });

  it.each([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool_calls'],
    [undefined, true, 'tool_calls'],
    ['MAX_TOKENS', false, 'length'],
    ['MAX_TOKENS', true, 'length'],
    ['SAFETY', false, 'content_filter'],
    ['RECITATION', false, 'content_filter'],
    ['BLOCKLIST', false, 'content_filter'],
    ['PROHIBITED_CONTENT', false, 'content_filter'],
    ['SPII', false, 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', false, 'stop'],
    ['OTHER', false, 'stop'],
  ] as const)('maps finishReason %s (calls: %s) to %s', (reason, hasCalls, expected) => {
    expect(mapGeminiFinishReason(reason, hasCalls)).toBe(expected);
  });

  it('rejects a body that is no GenerateContentResponse as a fallback-able invalid response', () => {
    for (const body of [null, [], 'x', { foo: 1 }]) {
      expect(() => geminiProvider.parseResponse(body, context)).toThrowError(
        expect.objectContaining({ code: 'upstream_invalid_response', status: 502, shouldFallBack: true }),
      );
    }
  });
});

describe('gemini parseError', () => {
  const failure = (name: string, headers: Record<string, string> = {}) => {
    const fixture = jsonFixture(name);
    return geminiProvider.parseError({
      status: fixture.status ?? 500,
      headers,
      body: JSON.stringify(fixture.body),
      providerName: 'google',
    });
  };

  it.each([
    ['error-400', 400, 'upstream_bad_request', false],
    ['error-api-key', 502, 'upstream_auth_failed', true],
    ['error-403', 502, 'upstream_auth_failed', true],
    ['error-429', 429, 'upstream_rate_limited', true],
    ['error-500', 502, 'upstream_error', true],
    ['error-503', 503, 'upstream_overloaded', true],
  ] as const)('maps %s to %s %s', (name, status, code, shouldFallBack) => {
    const error = failure(name);
    expect({ status: error.status, code: error.code, shouldFallBack: error.shouldFallBack }).toEqual({
      status,
      code,
      shouldFallBack,
    });
    assertOpenAiSchema('ErrorResponse', error.toEnvelope());
  });

  it('keeps the upstream message of an INVALID_ARGUMENT and never the key error text', () => {
    expect(failure('error-400').message).toBe(
      `google rejected the request: Invalid JSON payload received. Unknown name "foo" at 'generation_config': Cannot find field.`,
    );
    expect(failure('error-api-key').message).toBe("google rejected the gateway's credentials.");
  });

  it('takes Retry-After from the header, else from RetryInfo', () => {
    expect(failure('error-429').retryAfterSeconds).toBe(35);
    expect(failure('error-429', { 'retry-after': '7' }).retryAfterSeconds).toBe(7);
  });

  it('reads array-wrapped and unparsable bodies', () => {
    const wrapped = geminiProvider.parseError({
      status: 400,
      headers: {},
      body: JSON.stringify([{ error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' } }]),
      providerName: 'google',
    });
    expect(wrapped.message).toBe('google rejected the request: bad');
    const html = geminiProvider.parseError({
      status: 502,
      headers: {},
      body: '<html>502</html>',
      providerName: 'google',
    });
    expect(html.code).toBe('upstream_error');
    expect(html.message).toBe('google returned an error: <html>502</html>');
  });
});

interface Played {
  chunks: ChatCompletionChunk[];
  error?: { error: { code: string | null; message: string; type: string } };
  isDone: boolean;
}

/** Frames a transcript as Google does, decodes it, maps it and writes it as the gateway would. */
function play(name: string, options: { includeUsage?: boolean; excludeReasoning?: boolean } = {}): Played {
  const wire = readFixture(`${name}.chunks.txt`)
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => geminiFormat.frame(line))
    .join('');
  const decoder = new SseDecoder();
  const bytes = Buffer.from(wire);
  const events = [
    ...decoder.push(bytes.subarray(0, 101)),
    ...decoder.push(bytes.subarray(101)),
    ...decoder.end(),
  ];
  const mapper = geminiProvider.createStreamMapper(context);
  let toolIds = 0;
  const writer = new ChatChunkWriter(
    { id: 'chatcmpl-test', created: 1718380800, model: 'google/gemini-2.5-flash', provider: 'google' },
    {
      includeUsage: options.includeUsage ?? true,
      excludeReasoning: options.excludeReasoning ?? false,
      newToolCallId: () => `call_writer${toolIds++}`,
    },
  );
  let out = '';
  let hasError = false;
  const parts: StreamPart[] = [...events.flatMap((event) => mapper.map(event)), ...mapper.end()];
  for (const part of parts) {
    out += writer.write(part);
    if (part.type === 'error') {
      hasError = true;
      break;
    }
  }
  if (!hasError) {
    const usage: Usage = writer.lastUsage ? normalizeUsage(writer.lastUsage) : estimatedUsage(1, 1);
    out += writer.end(usage);
  }
  const payloads = out
    .split('\n\n')
    .filter(Boolean)
    .map((frame) => {
      expect(frame.startsWith('data: ')).toBe(true);
      return frame.slice(6);
    });
  const isDone = payloads.at(-1) === '[DONE]';
  const json = payloads.filter((payload) => payload !== '[DONE]').map((payload) => JSON.parse(payload));
  const played: Played = { chunks: [], isDone };
  for (const item of json) {
    if ('error' in item) {
      assertOpenAiSchema('ErrorResponse', item);
      played.error = item;
    } else {
      assertOpenAiSchema('CreateChatCompletionStreamResponse', item);
      played.chunks.push(item);
    }
  }
  return played;
}

/** SPEC §3.4 invariants (1)–(5). */
function assertChunkInvariants(played: Played, includeUsage: boolean): void {
  const { chunks } = played;
  expect(chunks.length).toBeGreaterThan(0);
  for (const chunk of chunks) {
    expect({ id: chunk.id, created: chunk.created, model: chunk.model, provider: chunk.provider }).toEqual({
      id: 'chatcmpl-test',
      created: 1718380800,
      model: 'google/gemini-2.5-flash',
      provider: 'google',
    });
  }
  expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
  const seen = new Map<number, number>();
  for (const chunk of chunks) {
    for (const fragment of (chunk.choices[0]?.delta.tool_calls ?? []) as ToolCallDelta[]) {
      const count = seen.get(fragment.index) ?? 0;
      if (count === 0) {
        expect(fragment.id).toMatch(/^call_/);
        expect(fragment.type).toBe('function');
        expect(fragment.function?.name).toBeTruthy();
      } else {
        expect(fragment).not.toHaveProperty('id');
        expect(fragment.function).not.toHaveProperty('name');
      }
      seen.set(fragment.index, count + 1);
    }
  }
  expect([...seen.keys()].sort()).toEqual([...Array(seen.size).keys()]);
  const finishes = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
  if (played.error) {
    expect(finishes.length).toBeLessThanOrEqual(1);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    return;
  }
  expect(played.isDone).toBe(true);
  expect(finishes).toHaveLength(1);
  const usageChunks = chunks.filter((chunk) => chunk.usage);
  if (includeUsage) {
    expect(usageChunks).toHaveLength(1);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toBeTruthy();
    expect(chunks.indexOf(finishes[0] as ChatCompletionChunk)).toBeLessThan(chunks.length - 1);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
  } else {
    expect(usageChunks).toHaveLength(0);
    for (const chunk of chunks) expect(chunk).not.toHaveProperty('usage');
  }
}

function assembled(played: Played) {
  let content = '';
  let reasoning = '';
  const calls: { id?: string; name?: string; arguments: string }[] = [];
  for (const chunk of played.chunks) {
    const delta = chunk.choices[0]?.delta;
    if (!delta) continue;
    content += delta.content ?? '';
    reasoning += delta.reasoning ?? '';
    for (const fragment of delta.tool_calls ?? []) {
      calls[fragment.index] ??= { arguments: '' };
      const call = calls[fragment.index] as { id?: string; name?: string; arguments: string };
      call.id ??= fragment.id;
      call.name ??= fragment.function?.name;
      call.arguments += fragment.function?.arguments ?? '';
    }
  }
  const finish = played.chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason;
  return { content, reasoning, calls, finish, usage: played.chunks.at(-1)?.usage };
}

describe('gemini stream mapping through the chunk writer', () => {
  const transcripts = [
    'text',
    'function-call',
    'thinking',
    'cached-usage',
    'safety-block',
    'safety-stop',
    'broken-stream',
    'mid-stream-error',
  ];

  it.each(transcripts)('%s holds the chunk invariants with and without include_usage', (name) => {
    assertChunkInvariants(play(name, { includeUsage: true }), true);
    assertChunkInvariants(play(name, { includeUsage: false }), false);
  });

  it('streams text and the last usage', () => {
    const result = assembled(play('text'));
    expect(result.content).toBe(
      'Paris is the capital of France. It is known for the Eiffel Tower and the Louvre.',
    );
    expect(result.finish).toBe('stop');
    expect(result.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 18, total_tokens: 26 });
  });

  it('streams each whole function call as one fragment at its own index', () => {
    const played = play('function-call');
    const result = assembled(played);
    expect(result.calls).toEqual([
      {
        id: expect.stringMatching(/^call_[A-Za-z0-9]{24}$/),
        name: 'get_weather',
        arguments: '{"city":"Paris","unit":"celsius"}',
      },
      {
        id: expect.stringMatching(/^call_[A-Za-z0-9]{24}$/),
        name: 'get_weather',
        arguments: '{"city":"Tokyo","unit":"celsius"}',
      },
    ]);
    expect(result.calls[0]?.id).not.toBe(result.calls[1]?.id);
    expect(result.finish).toBe('tool_calls');
    const details = played.chunks.flatMap((chunk) => chunk.choices[0]?.delta.reasoning_details ?? []);
    expect(details).toEqual([
      expect.objectContaining({
        type: 'reasoning.encrypted',
        id: result.calls[0]?.id,
        format: 'google-gemini-v1',
      }),
    ]);
    expect(result.usage).toMatchObject({
      completion_tokens: 148,
      completion_tokens_details: { reasoning_tokens: 112 },
    });
  });

  it('streams thoughts as reasoning with their details, and strips them when excluded', () => {
    const played = play('thinking');
    const result = assembled(played);
    expect(result.reasoning).toMatch(/^\*\*Calculating the sum\*\*[\s\S]*consistent\.$/);
    expect(result.content).toBe('17 + 25 = 42.');
    const details = played.chunks.flatMap((chunk) => chunk.choices[0]?.delta.reasoning_details ?? []);
    expect(details.map((detail) => [detail.type, detail.index])).toEqual([
      ['reasoning.text', 0],
      ['reasoning.text', 1],
      ['reasoning.encrypted', 2],
    ]);
    const excluded = play('thinking', { excludeReasoning: true });
    expect(assembled(excluded).reasoning).toBe('');
    expect(excluded.chunks.some((chunk) => chunk.choices[0]?.delta.reasoning_details)).toBe(false);
    expect(assembled(excluded).content).toBe('17 + 25 = 42.');
  });

  it('reports cached tokens and content filters', () => {
    expect(assembled(play('cached-usage')).usage).toMatchObject({
      prompt_tokens_details: { cached_tokens: 4096 },
    });
    const blocked = assembled(play('safety-block'));
    expect(blocked).toMatchObject({ content: '', finish: 'content_filter' });
    expect(blocked.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 0 });
    expect(assembled(play('safety-stop'))).toMatchObject({
      content: 'Here is an overview of the',
      finish: 'content_filter',
    });
  });

  it('ends a broken stream and an in-band error with an error frame and [DONE]', () => {
    const broken = play('broken-stream');
    expect(assembled(broken).content).toBe('The first three primes are');
    expect(broken.error?.error).toMatchObject({ code: 'upstream_invalid_response', type: 'api_error' });
    expect(broken.isDone).toBe(true);
    const overloaded = play('mid-stream-error');
    expect(assembled(overloaded).content).toBe('Once upon a time');
    expect(overloaded.error?.error).toMatchObject({ code: 'upstream_overloaded', type: 'overloaded_error' });
  });

  it('maps in-band error codes by their numeric code or status name', () => {
    const mapper = geminiProvider.createStreamMapper(context);
    const [first] = mapper.map({
      event: undefined,
      data: '{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}',
    });
    expect(first?.type === 'error' && first.error.code).toBe('upstream_rate_limited');
    const [second] = mapper.map({
      event: undefined,
      data: '{"error":{"message":"bad","status":"INVALID_ARGUMENT"}}',
    });
    expect(second?.type === 'error' && second.error.message).toBe('google rejected the request: bad');
  });
});
