import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk, ChatCompletionRequest } from '#src/api/wire/chat.js';
import { estimatedUsage, normalizeUsage } from '#src/billing/usage-estimate.js';
import type { ProviderConfig } from '#src/config/config.js';
import { anthropicFormat } from '#src/fake-upstream/anthropic-format.js';
import { anthropicProvider } from '#src/providers/anthropic/index.js';
import type { UpstreamTarget } from '#src/providers/provider.js';
import type { CatalogModel } from '#src/routing/model-catalog.js';
import { ChatChunkWriter } from '#src/stream/chat-chunk-writer.js';
import { SseDecoder, type SseEvent } from '#src/stream/sse-decoder.js';
import type { StreamPart } from '#src/stream/stream-part.js';
import { assertOpenAiSchema } from '../../support/openai-schema.js';

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
const target: UpstreamTarget = {
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
    inputModalities: ['text'],
    outputModalities: ['text'],
    supportedParameters: undefined,
    supportedApis: ['chat'],
    upstreamModel: 'claude-sonnet-4-5',
    aliases: [],
    enabled: true,
    timeouts: {},
  } satisfies CatalogModel,
};

/** Frames a transcript the way the fake upstream does, then decodes it as the gateway does. */
function eventsOf(scenarioOrLines: string | string[]): SseEvent[] {
  const lines =
    typeof scenarioOrLines === 'string'
      ? readFileSync(
          new URL(
            `../../../src/providers/anthropic/__fixtures__/${scenarioOrLines}.chunks.txt`,
            import.meta.url,
          ),
          'utf8',
        )
          .split('\n')
          .filter((line) => line.trim().length > 0)
      : scenarioOrLines;
  const decoder = new SseDecoder();
  const events = decoder.push(Buffer.from(lines.map((line) => anthropicFormat.frame(line)).join('')));
  return [...events, ...decoder.end()];
}

interface Played {
  batches: StreamPart[][];
  data: string[];
  chunks: ChatCompletionChunk[];
  writer: ChatChunkWriter;
}

/** Plays events through the mapper and the chunk writer the way the chat handler does. */
function play(
  events: SseEvent[],
  request: Partial<ChatCompletionRequest> = {},
  options: { includeUsage?: boolean; excludeReasoning?: boolean } = {},
): Played {
  const fullRequest = { model: 'anthropic/claude-sonnet-4-5', messages: [], stream: true, ...request };
  const mapper = anthropicProvider.createStreamMapper({ request: fullRequest, target });
  const writer = new ChatChunkWriter(
    { id: 'chatcmpl-test', created: 1718380800, model: 'anthropic/claude-sonnet-4-5', provider: 'anthropic' },
    {
      includeUsage: options.includeUsage ?? true,
      excludeReasoning: options.excludeReasoning ?? false,
      newToolCallId: () => 'call_generated',
    },
  );
  const batches = [...events.map((event) => mapper.map(event)), mapper.end()];
  let out = '';
  let hasFailed = false;
  for (const part of batches.flat()) {
    out += writer.write(part);
    if (part.type === 'error') {
      hasFailed = true;
      break;
    }
  }
  if (!hasFailed) out += writer.end(normalizeUsage(writer.lastUsage ?? estimatedUsage(0, 0)));
  const data = out
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice(6));
  const chunks = data
    .filter((item) => item !== '[DONE]' && !item.startsWith('{"error"'))
    .map((item) => JSON.parse(item) as ChatCompletionChunk);
  return { batches, data, chunks, writer };
}

/** SPEC §3.4 invariants, each checked on every played transcript. */
function assertChunkInvariants(
  played: Played,
  options: { includeUsage: boolean; hasFailed?: boolean },
): void {
  const { chunks, data } = played;
  expect(data.at(-1)).toBe('[DONE]');
  expect(chunks.length).toBeGreaterThan(0);
  for (const chunk of chunks) assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
  const head = (chunk: ChatCompletionChunk) => [chunk.id, chunk.created, chunk.model, chunk.provider];
  for (const chunk of chunks) expect(head(chunk)).toEqual(head(chunks[0] as ChatCompletionChunk));
  expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
  const seen: number[] = [];
  for (const chunk of chunks) {
    for (const fragment of chunk.choices[0]?.delta.tool_calls ?? []) {
      if (!seen.includes(fragment.index)) {
        expect(fragment.index).toBe(seen.length);
        seen.push(fragment.index);
        expect(fragment.id).toMatch(/^(toolu_|call_)/);
        expect(fragment.type).toBe('function');
        expect(fragment.function?.name).toBeTruthy();
      } else {
        expect(fragment).not.toHaveProperty('id');
        expect(fragment).not.toHaveProperty('type');
        expect(fragment.function).not.toHaveProperty('name');
      }
    }
  }
  const finishes = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
  expect(finishes).toHaveLength(options.hasFailed ? 0 : 1);
  const usageChunks = chunks.filter((chunk) => chunk.usage);
  if (options.includeUsage && !options.hasFailed) {
    expect(usageChunks).toHaveLength(1);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.indexOf(finishes[0] as ChatCompletionChunk)).toBeLessThan(chunks.length - 1);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
  } else {
    expect(usageChunks).toHaveLength(0);
  }
}

describe('anthropic stream mapping', () => {
  it('streams text with one finish and the usage chunk last', () => {
    const played = play(eventsOf('text'));
    assertChunkInvariants(played, { includeUsage: true });
    const completion = played.writer.completion(
      normalizeUsage(played.writer.lastUsage ?? estimatedUsage(0, 0)),
    );
    expect(completion.choices[0]?.message.content).toBe('Hello! How can I help you today?');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(played.chunks.at(-1)?.usage).toMatchObject({
      prompt_tokens: 12,
      completion_tokens: 12,
      total_tokens: 24,
    });
    expect(played.writer.upstreamId).toBe('msg_01XFDUDYJgAACzvnptvVoYEL');
  });

  it('holds message_start back: its id rides on the first real part', () => {
    const { batches } = play(eventsOf('text'));
    expect(batches[0]).toEqual([]);
    expect(batches.find((batch) => batch.length > 0)?.[0]).toEqual({
      type: 'metadata',
      upstreamId: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    });
  });

  it('streams two parallel tool calls with dense indexes and split arguments', () => {
    const played = play(eventsOf('tool-use'), {}, { includeUsage: false });
    assertChunkInvariants(played, { includeUsage: false });
    const message = played.writer.assembler.message();
    expect(message.content).toBe("I'll check the weather in both cities.");
    expect(
      message.tool_calls?.map((call) => [call.id, call.function.name, JSON.parse(call.function.arguments)]),
    ).toEqual([
      ['toolu_01T1x1fJ34qAmk2tNTrN7Up6', 'get_weather', { location: 'San Francisco, CA', unit: 'celsius' }],
      ['toolu_01KxP4rVhXbq5Sx2CzWz3fTn', 'get_weather', { location: 'Paris, France', unit: 'celsius' }],
    ]);
    expect(played.chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe(
      'tool_calls',
    );
    const fragments = played.chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(fragments.filter((fragment) => fragment.index === 1)).toHaveLength(3);
  });

  it('streams thinking as delta.reasoning and the signed block as one reasoning_details entry', () => {
    const played = play(eventsOf('thinking'));
    assertChunkInvariants(played, { includeUsage: true });
    const reasoningDeltas = played.chunks.map((chunk) => chunk.choices[0]?.delta.reasoning).filter(Boolean);
    expect(reasoningDeltas).toHaveLength(3);
    const message = played.writer.assembler.message();
    expect(message.reasoning).toBe(
      '27 * 453: 453 = 400 + 50 + 3. 27 * 400 = 10800, 27 * 50 = 1350, 27 * 3 = 81. Sum: 12231.',
    );
    expect(message.reasoning_details).toEqual([
      { type: 'reasoning.text', text: message.reasoning, signature: expect.stringMatching(/^EqQBCkgIARAB/) },
    ]);
    expect(message.content).toBe('27 × 453 = 12,231');
  });

  it('strips reasoning when the client excluded it', () => {
    const played = play(eventsOf('thinking'), {}, { excludeReasoning: true });
    assertChunkInvariants(played, { includeUsage: true });
    for (const chunk of played.chunks) {
      expect(chunk.choices[0]?.delta ?? {}).not.toHaveProperty('reasoning');
      expect(chunk.choices[0]?.delta ?? {}).not.toHaveProperty('reasoning_details');
    }
  });

  it('reports cache reads and writes in the usage chunk', () => {
    const played = play(eventsOf('cached-usage'));
    assertChunkInvariants(played, { includeUsage: true });
    expect(played.chunks.at(-1)?.usage).toMatchObject({
      prompt_tokens: 2257,
      completion_tokens: 10,
      total_tokens: 2267,
      prompt_tokens_details: { cached_tokens: 2048, cache_write_tokens: 188 },
    });
  });

  it('streams the synthetic json_response tool as content and finishes with stop', () => {
    const played = play(eventsOf('json-response'), { response_format: { type: 'json_object' } });
    assertChunkInvariants(played, { includeUsage: true });
    const message = played.writer.assembler.message();
    expect(message.tool_calls).toBeUndefined();
    expect(JSON.parse(message.content ?? '')).toEqual({ city: 'Paris', population: 2102650 });
    expect(played.chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe(
      'stop',
    );
  });

  it('ends an overloaded stream with usage so far, then the mapped error and [DONE]', () => {
    const played = play(eventsOf('overloaded-mid-stream'));
    assertChunkInvariants(played, { includeUsage: true, hasFailed: true });
    const parts = played.batches.flat();
    expect(parts.slice(-2).map((part) => part.type)).toEqual(['usage', 'error']);
    expect(JSON.parse(played.data.at(-2) ?? '')).toEqual({
      error: {
        message: 'anthropic is overloaded.',
        type: 'overloaded_error',
        param: null,
        code: 'upstream_overloaded',
      },
    });
    expect(played.writer.assembler.message().content).toBe('Once upon a time');
  });

  it('makes an error before any output the first part, so the attempt can fall back', () => {
    const nonEmpty = play(eventsOf('overloaded-first')).batches.filter((batch) => batch.length > 0);
    expect(nonEmpty[0]?.map((part) => part.type)).toEqual(['error']);
  });

  it('reports a stream that ends before message_stop as upstream_error', () => {
    const played = play(eventsOf('broken-stream'));
    assertChunkInvariants(played, { includeUsage: true, hasFailed: true });
    expect(JSON.parse(played.data.at(-2) ?? '')).toMatchObject({
      error: { code: 'upstream_error', type: 'api_error' },
    });
  });

  it('maps in-band error types like their HTTP statuses', () => {
    const codeOf = (type: string) => {
      const parts = play(
        eventsOf([`{"type":"error","error":{"type":"${type}","message":"m"}}`]),
      ).batches.flat();
      const error = parts.find((part) => part.type === 'error');
      return error?.type === 'error' ? error.error.wireCode : undefined;
    };
    expect(codeOf('overloaded_error')).toBe('upstream_overloaded');
    expect(codeOf('rate_limit_error')).toBe('upstream_rate_limited');
    expect(codeOf('invalid_request_error')).toBe('upstream_bad_request');
    expect(codeOf('api_error')).toBe('upstream_error');
    expect(codeOf('something_new')).toBe('upstream_error');
  });

  it('reports an event that is not JSON as upstream_invalid_response', () => {
    const parts = play(
      eventsOf(['{"type":"message_start","message":{"id":"msg_1","usage":{}}}', '{"type":"content_']),
    ).batches.flat();
    expect(parts.map((part) => (part.type === 'error' ? part.error.code : part.type))).toEqual([
      'upstream_invalid_response',
    ]);
  });

  it('gives a tool call that streamed no arguments "{}" and ignores unknown events', () => {
    const played = play(
      eventsOf([
        '{"type":"message_start","message":{"id":"msg_2","usage":{"input_tokens":5,"output_tokens":1}}}',
        '{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_9","name":"now","input":{}}}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}',
        '{"type":"some_future_event","detail":1}',
        '{"type":"content_block_stop","index":0}',
        '{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}',
        '{"type":"message_stop"}',
      ]),
    );
    assertChunkInvariants(played, { includeUsage: true });
    expect(played.writer.assembler.message().tool_calls).toEqual([
      { id: 'toolu_9', type: 'function', function: { name: 'now', arguments: '{}' } },
    ]);
    expect(played.chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 7 });
  });
});

describe('anthropicFormat (fake upstream)', () => {
  it('serves /v1/messages, reads the scenario and stream flag from the body, and frames named events', () => {
    expect(anthropicFormat.matchPath('/v1/messages')).toEqual({ model: '', isStream: false });
    expect(anthropicFormat.matchPath('/v1/chat/completions')).toBeUndefined();
    expect(anthropicFormat.modelFromBody({ model: 'tool-use' })).toBe('tool-use');
    expect(anthropicFormat.isStreamFromBody({ stream: true })).toBe(true);
    expect(anthropicFormat.frame('{"type":"ping"}')).toBe('event: ping\ndata: {"type":"ping"}\n\n');
    expect(anthropicFormat.trailer).toBe('');
  });

  it('echoes the last user text in Anthropic shapes, plain and streamed', () => {
    const body = {
      model: 'echo',
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: [{ type: 'text', text: 'ok' }] },
        { role: 'user', content: [{ type: 'text', text: 'second' }] },
      ],
    };
    expect(anthropicFormat.echo(body, false).json).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'Echo: second' }],
      stop_reason: 'end_turn',
    });
    const lines = anthropicFormat.echo(body, true).lines ?? [];
    expect(lines.map((line) => JSON.parse(line).type)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      ...Array(lines.length - 6).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const played = play(eventsOf(lines));
    assertChunkInvariants(played, { includeUsage: true });
    expect(played.writer.assembler.message().content).toBe('Echo: second');
  });
});
