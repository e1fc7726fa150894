import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../support/gateway.js';
import {
  assertEvents,
  assertResponse,
  chunkLine,
  createResponse,
  openEventStream,
  request,
  responseOf,
  type StreamEvent,
  startResponsesGateway,
  streamResponse,
  typesOf,
  usageLine,
} from './responses-fixture.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startResponsesGateway();
});
afterAll(async () => gateway.close());
beforeEach(() => gateway.fake.reset());

const textItem = (deltas: number) => [
  'response.output_item.added',
  'response.content_part.added',
  ...Array<string>(deltas).fill('response.output_text.delta'),
  'response.output_text.done',
  'response.content_part.done',
  'response.output_item.done',
];
const reasoningItem = (deltas: number) => [
  'response.output_item.added',
  'response.reasoning_summary_part.added',
  ...Array<string>(deltas).fill('response.reasoning_summary_text.delta'),
  'response.reasoning_summary_text.done',
  'response.reasoning_summary_part.done',
  'response.output_item.done',
];
const countOf = (events: StreamEvent[], type: string) => events.filter((event) => event.type === type).length;
const last = (events: StreamEvent[]) => events.at(-1) as StreamEvent & { response: Record<string, unknown> };

/** The one request event the stream produced, once the http layer has finished it. */
async function eventOf(id: string) {
  await expect
    .poll(() => gateway.finished.filter((finished) => finished.record.eventId === id).length)
    .toBe(1);
  return gateway.finished.find((finished) => finished.record.eventId === id);
}

describe('streamed responses: the event sequence of SPEC §12.4, for every provider', () => {
  it('OpenAI-compatible text: created → in_progress → the message item → completed, numbered from 0', async () => {
    const stream = await streamResponse(gateway, { model: 'local/text', input: 'hi' });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.get('x-maniac-provider')).toBe('local');
    assertEvents(stream.events);
    expect(typesOf(stream.events)).toEqual([
      'response.created',
      'response.in_progress',
      ...textItem(9),
      'response.completed',
    ]);
    expect(stream.text).not.toContain('[DONE]');
    const final = last(stream.events).response;
    expect(final).toMatchObject({ status: 'completed', output_text: 'Hello! How can I assist you today?' });
    expect(final.usage).toMatchObject({ input_tokens: 19, output_tokens: 10, total_tokens: 29 });
    const deltas = stream.events.filter((event) => event.type === 'response.output_text.delta');
    expect(deltas.map((event) => event.delta).join('')).toBe('Hello! How can I assist you today?');
    const stored = await request(gateway, 'GET', `/v1/responses/${final.id}`);
    expect(stored.body).toEqual(final);
    const finished = await eventOf(final.id as string);
    expect(finished?.record).toMatchObject({ endpoint: 'responses', outcome: 'success', stream: true });
    expect(finished?.record.usage?.total_tokens).toBe(29);
  });

  it('OpenAI-compatible reasoning, then text', async () => {
    const stream = await streamResponse(gateway, { model: 'local/reasoning', input: '2+2' });
    assertEvents(stream.events);
    expect(typesOf(stream.events)).toEqual([
      'response.created',
      'response.in_progress',
      ...reasoningItem(2),
      ...textItem(1),
      'response.completed',
    ]);
    expect(last(stream.events).response.output_text).toBe('2 + 2 = 4.');
  });

  it('OpenAI-compatible parallel tool calls, each its own function_call item', async () => {
    const stream = await streamResponse(gateway, {
      model: 'local/tools',
      input: 'weather?',
      tools: [{ type: 'function', name: 'get_weather' }],
    });
    assertEvents(stream.events);
    expect(typesOf(stream.events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const done = stream.events.filter((event) => event.type === 'response.function_call_arguments.done');
    expect(
      done.map((event) => [event.output_index, event.name, JSON.parse(event.arguments as string)]),
    ).toEqual([
      [0, 'get_weather', { location: 'Paris' }],
      [1, 'get_weather', { location: 'Tokyo' }],
    ]);
  });

  it('Anthropic text, thinking and tool use', async () => {
    const text = await streamResponse(gateway, { model: 'anthropic/text', input: 'hi' });
    assertEvents(text.events);
    const textTypes = typesOf(text.events);
    expect(textTypes.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(textTypes.at(-1)).toBe('response.completed');
    expect(last(text.events).response).toMatchObject({ status: 'completed', provider: 'anthropic' });

    const thinking = await streamResponse(gateway, { model: 'anthropic/thinking', input: 'think' });
    assertEvents(thinking.events);
    expect(typesOf(thinking.events).slice(2, 4)).toEqual([
      'response.output_item.added',
      'response.reasoning_summary_part.added',
    ]);
    const output = last(thinking.events).response.output as { type: string }[];
    expect(output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(countOf(thinking.events, 'response.reasoning_summary_text.delta')).toBeGreaterThan(0);

    const tools = await streamResponse(gateway, {
      model: 'anthropic/tool-use',
      input: 'weather?',
      tools: [{ type: 'function', name: 'get_weather' }],
    });
    assertEvents(tools.events);
    expect(countOf(tools.events, 'response.function_call_arguments.done')).toBeGreaterThan(0);
    const calls = (last(tools.events).response.output as { type: string; name?: string }[]).filter(
      (item) => item.type === 'function_call',
    );
    expect(calls[0]?.name).toBe('get_weather');
  });

  it('Gemini text, thinking and a function call', async () => {
    const text = await streamResponse(gateway, { model: 'google/text', input: 'hi' });
    assertEvents(text.events);
    expect(last(text.events).response).toMatchObject({ status: 'completed', provider: 'google' });
    expect(countOf(text.events, 'response.output_text.delta')).toBeGreaterThan(0);

    const thinking = await streamResponse(gateway, { model: 'google/thinking', input: 'think' });
    assertEvents(thinking.events);
    expect((last(thinking.events).response.output as { type: string }[])[0]?.type).toBe('reasoning');

    const call = await streamResponse(gateway, {
      model: 'google/function-call',
      input: 'weather?',
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }],
    });
    assertEvents(call.events);
    expect(typesOf(call.events)).toContain('response.function_call_arguments.done');
  });
});

describe('failures (SPEC §9.4, §12.4)', () => {
  for (const model of [
    'local/mid-stream-error',
    'anthropic/overloaded-mid-stream',
    'google/mid-stream-error',
  ]) {
    it(`${model}: after the first event, error then response.failed, then the end`, async () => {
      const stream = await streamResponse(gateway, { model, input: 'x' });
      expect(stream.status).toBe(200);
      assertEvents(stream.events);
      const types = typesOf(stream.events);
      expect(types.slice(-2)).toEqual(['error', 'response.failed']);
      const error = stream.events.at(-2) as StreamEvent;
      expect(error).toMatchObject({ code: expect.any(String), message: expect.any(String), param: null });
      const failed = last(stream.events).response;
      expect(failed).toMatchObject({ status: 'failed', error: { code: error.code, message: error.message } });
      const stored = await request(gateway, 'GET', `/v1/responses/${failed.id}`);
      expect(stored.body).toMatchObject({ status: 'failed', error: { code: error.code } });
      const finished = await eventOf(failed.id as string);
      expect(finished?.record).toMatchObject({ outcome: 'stream_error', errorCode: error.code });
    });
  }

  it('a failure before the first event is a JSON error, never a 200 stream', async () => {
    const stream = await streamResponse(gateway, { model: 'local/error-429', input: 'x' });
    expect(stream.status).toBe(429);
    expect(JSON.parse(stream.text)).toMatchObject({ error: { code: 'upstream_rate_limited' } });
  });

  it('a length stop ends with response.incomplete (max_output_tokens), the message marked incomplete', async () => {
    const opened = openEventStream(gateway, {
      body: { model: 'local/controlled', input: 'x', max_output_tokens: 5 },
    });
    const upstream = await gateway.fake.nextControlled();
    upstream.send(chunkLine({ role: 'assistant', content: 'Hello' }));
    upstream.send(chunkLine({}, 'length'));
    upstream.send(usageLine(3, 5));
    upstream.end();
    const events = await (await opened).all();
    assertEvents(events);
    expect(typesOf(events).at(-1)).toBe('response.incomplete');
    const response = last(events).response as { output: { status: string }[] };
    expect(response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
    expect(response.output[0]?.status).toBe('incomplete');
  });

  it('a refusal (content filter) is incomplete with reason content_filter', async () => {
    const response = await createResponse(gateway, { model: 'anthropic/refusal', input: 'x' });
    assertResponse(response.body);
    expect(response.body).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'content_filter' },
    });
  });

  it('a client that goes away: upstream aborted, response stored cancelled with its partial output, one event', async () => {
    const opened = openEventStream(gateway, { body: { model: 'local/controlled', input: 'x' } });
    const upstream = await gateway.fake.nextControlled();
    upstream.send(chunkLine({ role: 'assistant', content: 'Partial' }));
    const stream = await opened;
    const events = await stream.until('response.output_text.delta');
    const id = responseOf(events[0]).id;
    const aborted = gateway.fake.nextAbort();
    stream.abort();
    await aborted;
    await expect
      .poll(async () => (await request(gateway, 'GET', `/v1/responses/${id}`)).body.status)
      .toBe('cancelled');
    const stored = await request(gateway, 'GET', `/v1/responses/${id}`);
    expect(stored.body.output_text).toBe('Partial');
    const finished = await eventOf(id);
    expect(finished?.record.outcome).toBe('client_disconnected');
  });
});
