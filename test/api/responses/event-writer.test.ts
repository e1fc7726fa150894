import fc from 'fast-check';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { ResponseStreamEvent as SdkEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import type { ChunkDelta, FinishReason } from '#src/api/wire/chat.js';
import type { ResponseObject, ResponseStreamEvent } from '#src/api/wire/responses.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import { ResponseEventWriter } from '#src/stream/response-event-writer.js';
import { replayResponse } from '#src/stream/response-replay.js';
import type { StreamPart } from '#src/stream/stream-part.js';
import { assertEvents, assertResponse, typesOf } from './responses-fixture.js';

function skeleton(): ResponseObject {
  return {
    id: 'resp_0123456789abcdef0123456789abcdef',
    object: 'response',
    created_at: 1718380800,
    status: 'in_progress',
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: 'local/test',
    provider: 'local',
    output: [],
    output_text: '',
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: null,
    store: true,
    temperature: null,
    top_p: null,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    truncation: 'disabled',
    metadata: {},
  };
}

const usage = {
  input_tokens: 1,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: 1,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 2,
};

function run(parts: StreamPart[]): { events: ResponseStreamEvent[]; final: ResponseObject } {
  const events: ResponseStreamEvent[] = [];
  let counter = 0;
  const writer = new ResponseEventWriter(skeleton(), {
    sink: (event) => events.push(structuredClone(event)),
    newItemId: (prefix) => `${prefix}_${counter++}`,
    newToolCallId: () => `call_gen${counter++}`,
    nowSeconds: () => 1718380801,
  });
  writer.created();
  writer.inProgress();
  for (const part of parts) {
    const failed = writer.write(part);
    if (failed)
      return { events, final: structuredClone(writer.fail({ code: 'upstream_error', message: 'x' })) };
  }
  return { events, final: structuredClone(writer.complete(usage)) };
}

const delta = (value: ChunkDelta): StreamPart => ({ type: 'delta', delta: value });

describe('ResponseEventWriter', () => {
  it('keeps parallel tool calls apart when their fragments interleave, renumbered from the upstream index', () => {
    const { events, final } = run([
      delta({
        tool_calls: [
          { index: 3, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"a"' } },
        ],
      }),
      delta({
        tool_calls: [
          { index: 7, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{"b"' } },
        ],
      }),
      delta({ tool_calls: [{ index: 3, function: { arguments: ':1}' } }] }),
      delta({ tool_calls: [{ index: 7, function: { arguments: ':2}' } }] }),
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    assertEvents(events);
    assertResponse(final);
    expect(final.output).toEqual([
      {
        type: 'function_call',
        id: 'fc_0',
        call_id: 'call_a',
        name: 'f',
        arguments: '{"a":1}',
        status: 'completed',
      },
      {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'call_b',
        name: 'g',
        arguments: '{"b":2}',
        status: 'completed',
      },
    ]);
    const argumentDeltas = events.filter((event) => event.type === 'response.function_call_arguments.delta');
    expect(argumentDeltas.map((event) => [event.output_index, event.delta])).toEqual([
      [0, '{"a"'],
      [1, '{"b"'],
      [0, ':1}'],
      [1, ':2}'],
    ]);
  });

  it('puts a refusal after text in its own content part of the same message', () => {
    const { events, final } = run([
      delta({ content: 'I ' }),
      delta({ refusal: 'cannot' }),
      { type: 'finish', finishReason: 'stop' },
    ]);
    assertEvents(events);
    expect(final.output).toEqual([
      {
        type: 'message',
        id: 'msg_0',
        status: 'completed',
        role: 'assistant',
        content: [
          { type: 'output_text', text: 'I ', annotations: [], logprobs: [] },
          { type: 'refusal', refusal: 'cannot' },
        ],
      },
    ]);
    expect(typesOf(events)).toContain('response.refusal.done');
    expect(final.output_text).toBe('I ');
  });

  it('gives an answer with no output its empty message, and ignores output after the finish', () => {
    const { final } = run([{ type: 'finish', finishReason: 'stop' }, delta({ content: 'late' })]);
    expect(final.output).toEqual([
      {
        type: 'message',
        id: 'msg_0',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: '', annotations: [], logprobs: [] }],
      },
    ]);
  });

  const partArbitrary: fc.Arbitrary<StreamPart> = fc.oneof(
    fc.string({ minLength: 1, maxLength: 5 }).map((text) => delta({ reasoning: text })),
    fc.string({ minLength: 1, maxLength: 5 }).map((text) => delta({ content: text })),
    fc.string({ minLength: 1, maxLength: 5 }).map((text) => delta({ refusal: text })),
    fc
      .record({ index: fc.integer({ min: 0, max: 2 }), args: fc.string({ maxLength: 5 }) })
      .map(({ index, args }) =>
        delta({
          tool_calls: [
            {
              index,
              id: `call_${index}`,
              type: 'function',
              function: { name: `t${index}`, arguments: args },
            },
          ],
        }),
      ),
  );
  const finishArbitrary = fc.constantFrom<FinishReason>('stop', 'length', 'tool_calls', 'content_filter');

  it('builds, for any part sequence, the same response the official SDK accumulates from its events, and a replay that agrees', () => {
    fc.assert(
      fc.property(fc.array(partArbitrary, { maxLength: 12 }), finishArbitrary, (parts, finishReason) => {
        const { events, final } = run([...parts, { type: 'finish', finishReason }]);
        assertEvents(events);
        let snapshot: unknown;
        for (const event of events) snapshot = accumulateResponse(event as SdkEvent, snapshot as never);
        const accumulated = snapshot as ResponseObject;
        expect(accumulated.output).toEqual(final.output);
        expect(accumulated.status).toBe(final.status);
        const replayed: ResponseStreamEvent[] = [];
        replayResponse(final, (event) => replayed.push(structuredClone(event)));
        assertEvents(replayed);
        expect(replayed.at(-1)?.response).toEqual(final);
        const closed = new Set<unknown>();
        for (const event of events) {
          expect(closed.has(event.output_index), `${event.type} after its item was done`).toBe(false);
          if (event.type === 'response.output_item.done') closed.add(event.output_index);
        }
        const nonDelta = (list: ResponseStreamEvent[]) =>
          typesOf(list).filter((type) => !type.endsWith('.delta'));
        expect(nonDelta(replayed)).toEqual(nonDelta(events));
      }),
      { numRuns: 200 },
    );
  });

  it('fails with error then response.failed after the output so far', () => {
    const { events, final } = run([
      delta({ content: 'Part' }),
      {
        type: 'error',
        error: new GatewayError('upstream_error', { provider: 'local', upstreamMessage: 'gone' }),
      },
    ]);
    expect(typesOf(events).slice(-2)).toEqual(['error', 'response.failed']);
    expect(final).toMatchObject({ status: 'failed', output_text: 'Part', error: { code: 'upstream_error' } });
    expect((final.output[0] as { status: string }).status).toBe('incomplete');
  });
});
