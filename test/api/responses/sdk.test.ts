import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalKey, type TestGateway } from '../../support/gateway.js';
import { assertOpenAiSchema } from '../../support/openai-schema.js';
import { assertResponse, chunkLine, startResponsesGateway, usageLine } from './responses-fixture.js';

let gateway: TestGateway;
let client: OpenAI;
beforeAll(async () => {
  gateway = await startResponsesGateway();
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: internalKey, maxRetries: 0 });
});
afterAll(async () => gateway.close());

describe('the official openai SDK against the Responses API', () => {
  it('responses.create returns a Response with output_text and usage', async () => {
    const response = await client.responses.create({
      model: 'local/echo',
      input: 'hello',
      instructions: 'Hi.',
    });
    assertResponse(response);
    expect(response.output_text).toBe('Echo: hello');
    expect(response.status).toBe('completed');
    expect(response.usage?.total_tokens).toBeGreaterThan(0);
    expect(Reflect.get(response, 'provider')).toBe('local');
  });

  it('responses.create with stream: true yields schema-valid events', async () => {
    const stream = await client.responses.create({
      model: 'anthropic/thinking',
      input: 'think',
      stream: true,
    });
    const types: string[] = [];
    for await (const event of stream) {
      assertOpenAiSchema('ResponseStreamEvent', event);
      types.push(event.type);
    }
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.reasoning_summary_text.delta');
    expect(types.at(-1)).toBe('response.completed');
  });

  it('responses.stream assembles text, reasoning and function calls for every provider family', async () => {
    for (const model of ['local/text', 'anthropic/text', 'google/text']) {
      const runner = client.responses.stream({ model, input: 'hi' });
      let deltas = '';
      runner.on('response.output_text.delta', (event) => {
        deltas += event.delta;
      });
      const final = await runner.finalResponse();
      assertResponse(final);
      expect(final.output_text.length, model).toBeGreaterThan(0);
      expect(deltas, model).toBe(final.output_text);
    }
    const tools = await client.responses
      .stream({
        model: 'local/tools',
        input: 'weather?',
        tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }],
      })
      .finalResponse();
    const calls = tools.output.filter((item) => item.type === 'function_call');
    expect(
      calls.map((call) => (call.type === 'function_call' ? JSON.parse(call.arguments) : undefined)),
    ).toEqual([{ location: 'Paris' }, { location: 'Tokyo' }]);
  });

  it('responses.retrieve, retrieve with stream, cancel and delete', async () => {
    const created = await client.responses.create({ model: 'local/echo', input: 'keep' });
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved.output_text).toBe('Echo: keep');
    const replay = await client.responses.retrieve(created.id, { stream: true });
    const types: string[] = [];
    for await (const event of replay) types.push(event.type);
    expect(types.at(-1)).toBe('response.completed');

    const upstreamCalled = gateway.fake.nextControlled();
    const background = await client.responses.create({
      model: 'local/controlled',
      input: 'go',
      background: true,
    });
    expect(background.status).toBe('queued');
    const upstream = await upstreamCalled;
    upstream.send(chunkLine({ role: 'assistant', content: 'Part' }));
    const resumed = client.responses.stream({ response_id: background.id });
    const sawDelta = new Promise<void>((resolve) =>
      resumed.on('response.output_text.delta', () => resolve()),
    );
    await sawDelta;
    const cancelled = await client.responses.cancel(background.id);
    expect(cancelled.status).toBe('cancelled');
    const final = await resumed.finalResponse();
    expect(final).toMatchObject({ status: 'cancelled', output_text: 'Part' });
    await client.responses.delete(created.id);
    await expect(client.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    upstream.send(usageLine(1, 1));
  });

  it('raises the SDK error classes', async () => {
    await expect(client.responses.create({ model: 'nope/none', input: 'x' })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    await expect(
      client.responses.create({ model: 'local/echo', input: 'x', tools: [{ type: 'web_search' }] }),
    ).rejects.toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'tools[0]' });
  });
});
