import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lastUpstreamBody, type TestGateway } from '../../support/gateway.js';
import { createTenant, type Tenant } from '../../support/tenants.js';
import {
  assertResponse,
  createResponse,
  type ResponseBody,
  startResponsesGateway,
} from './responses-fixture.js';

let gateway: TestGateway;
let tenant: Tenant;
beforeAll(async () => {
  gateway = await startResponsesGateway();
  tenant = await createTenant(gateway.app.store);
  const now = Date.now();
  await gateway.app.store.containers.getOrCreate({
    projectId: tenant.projectId,
    label: 'support-bot',
    initialModel: 'local/echo',
    initialSystemPrompt: 'You are the support bot.',
    now,
  });
  await gateway.app.store.containers.attachModels(tenant.projectId, 'support-bot', ['local/vision'], now);
});
afterAll(async () => gateway.close());
beforeEach(() => gateway.fake.reset());

const upstreamMessages = () => lastUpstreamBody(gateway).messages;

describe('POST /v1/responses: the response object (SPEC §12.2)', () => {
  it('answers a string input with a completed response that validates against the OpenAI schema', async () => {
    const response = await createResponse(gateway, { model: 'local/echo', input: 'hello' });
    expect(response.status).toBe(200);
    assertResponse(response.body);
    const body = response.body;
    expect(body.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(body).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'local/echo',
      provider: 'local',
      background: false,
      store: true,
      error: null,
      incomplete_details: null,
      tools: [],
      output_text: 'Echo: hello',
    });
    expect(body.output).toEqual([
      {
        type: 'message',
        id: expect.stringMatching(/^msg_/),
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Echo: hello', annotations: [], logprobs: [] }],
      },
    ]);
    expect(upstreamMessages()).toEqual([{ role: 'user', content: 'hello' }]);
    expect(response.headers.get('x-maniac-provider')).toBe('local');
  });

  it('maps usage with cached tokens (Anthropic) and reasoning tokens (OpenAI-style reasoning)', async () => {
    const cached = await createResponse(gateway, { model: 'anthropic/cached-usage', input: 'x' });
    assertResponse(cached.body);
    const usage = cached.body.usage as Record<string, Record<string, number> | number>;
    expect(usage.input_tokens_details).toMatchObject({ cached_tokens: expect.any(Number) });
    expect((usage.input_tokens_details as Record<string, number>).cached_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe((usage.input_tokens as number) + (usage.output_tokens as number));

    const reasoning = await createResponse(gateway, { model: 'local/reasoning', input: '2+2' });
    assertResponse(reasoning.body);
    expect(reasoning.body.usage).toMatchObject({ output_tokens_details: { reasoning_tokens: 28 } });
    expect(reasoning.body.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(reasoning.body.output[0]).toEqual({
      type: 'reasoning',
      id: expect.stringMatching(/^rs_/),
      summary: [{ type: 'summary_text', text: 'The user asks 2+2. That is 4.' }],
    });
  });

  it('returns tool calls as function_call items with the upstream call ids', async () => {
    const response = await createResponse(gateway, {
      model: 'local/tools',
      input: 'weather in Paris and Tokyo?',
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }],
    });
    assertResponse(response.body);
    const calls = response.body.output.filter((item) => item.type === 'function_call');
    expect(calls.map((call) => [call.name, JSON.parse(call.arguments as string), call.status])).toEqual([
      ['get_weather', { location: 'Paris' }, 'completed'],
      ['get_weather', { location: 'Tokyo' }, 'completed'],
    ]);
    expect(calls[0]?.call_id).toMatch(/^call_/);
    expect(calls[0]?.id).toMatch(/^fc_/);
    expect(response.body.tools).toEqual([
      { type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: null },
    ]);
    expect(lastUpstreamBody(gateway).tools).toEqual([
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
    ]);
  });

  it('maps instructions, sampling, reasoning, text.format and metadata, and echoes them', async () => {
    const response = await createResponse(gateway, {
      model: 'local/echo',
      input: 'hi',
      instructions: 'Be brief.',
      max_output_tokens: 50,
      temperature: 0.3,
      top_p: 0.9,
      reasoning: { effort: 'low', summary: 'auto' },
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
      metadata: { ticket: 'T-1' },
      user: 'u-1',
      parallel_tool_calls: false,
      truncation: 'auto',
      include: ['reasoning.encrypted_content'],
      top_logprobs: 2,
    });
    expect(response.status).toBe(200);
    assertResponse(response.body);
    const sent = lastUpstreamBody(gateway);
    expect(sent).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      max_completion_tokens: 50,
      temperature: 0.3,
      top_p: 0.9,
      reasoning_effort: 'low',
      user: 'u-1',
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object' }, strict: true },
      },
    });
    for (const key of ['metadata', 'include', 'top_logprobs', 'truncation', 'parallel_tool_calls', 'input'])
      expect(sent).not.toHaveProperty(key);
    expect(response.body).toMatchObject({
      instructions: 'Be brief.',
      max_output_tokens: 50,
      temperature: 0.3,
      top_p: 0.9,
      reasoning: { effort: 'low', summary: 'auto' },
      text: { format: { type: 'json_schema', name: 'answer' } },
      metadata: { ticket: 'T-1' },
      parallel_tool_calls: false,
      truncation: 'auto',
      user: 'u-1',
    });
    expect(gateway.finished.at(-1)?.record).toMatchObject({
      endpoint: 'responses',
      eventId: response.body.id,
      metadata: { ticket: 'T-1' },
    });
  });

  it('sends json_object mode as response_format', async () => {
    await createResponse(gateway, {
      model: 'local/echo',
      input: 'hi',
      text: { format: { type: 'json_object' } },
    });
    expect(lastUpstreamBody(gateway).response_format).toEqual({ type: 'json_object' });
  });

  it('maps message items with text and image parts, assistant turns and function call round trips', async () => {
    const response = await createResponse(gateway, {
      model: 'local/vision',
      input: [
        { role: 'developer', content: [{ type: 'input_text', text: 'Rules.' }] },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this?' },
            { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' },
          ],
        },
        { role: 'assistant', content: [{ type: 'output_text', text: 'A cat.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"cat"}' },
        { type: 'function_call', call_id: 'call_2', name: 'lookup', arguments: '{"q":"dog"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'feline' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'canine' }] },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { role: 'user', content: 'Thanks' },
      ],
    });
    expect(response.status).toBe(200);
    expect(upstreamMessages()).toEqual([
      // The OpenAI-compatible family sends developer messages as system (SPEC §4).
      { role: 'system', content: [{ type: 'text', text: 'Rules.' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
        ],
      },
      { role: 'assistant', content: 'A cat.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } },
          { id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{"q":"dog"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'feline' },
      { role: 'tool', tool_call_id: 'call_2', content: 'canine' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('translates a Responses request for Anthropic and Gemini like a chat request', async () => {
    const anthropic = await createResponse(gateway, {
      model: 'anthropic/echo',
      instructions: 'Be brief.',
      input: 'hello',
      max_output_tokens: 64,
    });
    expect(anthropic.body).toMatchObject({
      status: 'completed',
      provider: 'anthropic',
      output_text: 'Echo: hello',
    });
    expect(lastUpstreamBody(gateway)).toMatchObject({
      system: [{ type: 'text', text: 'Be brief.' }],
      max_tokens: 64,
    });
    const gemini = await createResponse(gateway, { model: 'google/echo', input: 'hello', temperature: 0.5 });
    expect(gemini.body).toMatchObject({
      status: 'completed',
      provider: 'google',
      output_text: 'Echo: hello',
    });
    expect(lastUpstreamBody(gateway)).toMatchObject({ generationConfig: { temperature: 0.5 } });
  });
});

describe('model slugs and containers (SPEC §5.2, §5.3)', () => {
  it('accepts catalog ids, provider:model and bare names', async () => {
    for (const model of ['local/vision', 'local:vision', 'vision']) {
      const response = await createResponse(gateway, { model, input: 'x' });
      expect(response.body, model).toMatchObject({ status: 'completed', model: 'local/vision' });
    }
  });

  it('routes maniac:<label> with the container prompt, skipped when instructions are given', async () => {
    const routed = await createResponse(
      gateway,
      { model: 'maniac:support-bot', input: 'help' },
      tenant.headers,
    );
    assertResponse(routed.body);
    expect(routed.body).toMatchObject({ model: 'local/echo', container: 'support-bot' });
    expect(upstreamMessages()).toEqual([
      { role: 'system', content: 'You are the support bot.' },
      { role: 'user', content: 'help' },
    ]);
    await createResponse(
      gateway,
      { model: 'maniac/support-bot', input: 'help', instructions: 'Mine.' },
      tenant.headers,
    );
    expect(upstreamMessages()).toEqual([
      { role: 'system', content: 'Mine.' },
      { role: 'user', content: 'help' },
    ]);
    const pinned = await createResponse(
      gateway,
      { model: 'maniac:support-bot:local/vision', input: 'x' },
      tenant.headers,
    );
    expect(pinned.body).toMatchObject({ model: 'local/vision', container: 'support-bot' });
  });

  it('404s unknown models and containers, and refuses a model without the responses API', async () => {
    for (const model of ['nope/none', 'maniac:missing']) {
      const response = await createResponse(gateway, { model, input: 'x' }, tenant.headers);
      expect(response.status).toBe(404);
      expect(response.body).toMatchObject({ error: { code: 'model_not_found', param: 'model' } });
    }
    const chatOnly = await createResponse(gateway, { model: 'local/chat-only', input: 'x' });
    expect(chatOnly.status).toBe(400);
    expect(chatOnly.body).toMatchObject({ error: { code: 'invalid_value', param: 'model' } });
  });

  it('falls back through models like chat', async () => {
    const response = await createResponse(gateway, {
      model: 'local/error-429',
      models: ['local/echo'],
      input: 'x',
    });
    expect(response.body).toMatchObject({ status: 'completed', model: 'local/echo' });
    expect(response.headers.get('x-maniac-attempts')).toBe('2');
  });
});

describe('previous_response_id (SPEC §12.1)', () => {
  it('prepends the earlier turns’ inputs and outputs, oldest first, without their instructions', async () => {
    const first = await createResponse(gateway, {
      model: 'local/echo',
      input: 'one',
      instructions: 'Old rules.',
    });
    const second = await createResponse(gateway, {
      model: 'local/echo',
      input: 'two',
      previous_response_id: first.body.id,
    });
    expect(second.body.previous_response_id).toBe(first.body.id);
    await createResponse(gateway, {
      model: 'local/echo',
      input: 'three',
      instructions: 'New rules.',
      previous_response_id: second.body.id,
    });
    expect(upstreamMessages()).toEqual([
      { role: 'system', content: 'New rules.' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Echo: one' },
      { role: 'user', content: 'two' },
      { role: 'assistant', content: 'Echo: two' },
      { role: 'user', content: 'three' },
    ]);
  });

  it('sends earlier function calls back as tool_calls for the tool results', async () => {
    const first = await createResponse(gateway, {
      model: 'local/tools',
      input: 'weather?',
      tools: [{ type: 'function', name: 'get_weather' }],
    });
    const call = first.body.output.find((item) => item.type === 'function_call') as { call_id: string };
    await createResponse(gateway, {
      model: 'local/echo',
      previous_response_id: first.body.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
    });
    const messages = upstreamMessages() as { role: string; tool_calls?: { id: string }[] }[];
    expect(messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    expect(messages[1]?.tool_calls?.map((toolCall) => toolCall.id)).toContain(call.call_id);
  });

  it('keeps Anthropic thinking signatures across turns', async () => {
    const first = await createResponse(gateway, { model: 'anthropic/thinking', input: 'think' });
    expect(first.body.output[0]?.type).toBe('reasoning');
    expect(JSON.stringify(first.body)).not.toContain('chat_reasoning_details');
    await createResponse(gateway, {
      model: 'anthropic/echo',
      input: 'again',
      previous_response_id: first.body.id,
    });
    const assistant = (
      upstreamMessages() as { role: string; content: { type: string; signature?: string }[] }[]
    )[1];
    expect(assistant?.role).toBe('assistant');
    expect(assistant?.content[0]).toMatchObject({ type: 'thinking', signature: expect.any(String) });
  });

  it('404s an unknown or other-organization id and refuses an unfinished one', async () => {
    const unknown = await createResponse(gateway, {
      model: 'local/echo',
      input: 'x',
      previous_response_id: 'resp_nope',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      error: {
        code: 'response_not_found',
        param: 'previous_response_id',
        message: "No response found with id 'resp_nope'.",
      },
    });
    const mine = await createResponse(gateway, { model: 'local/echo', input: 'x' }, tenant.headers);
    const other = await createTenant(gateway.app.store);
    const foreign = await createResponse(
      gateway,
      { model: 'local/echo', input: 'x', previous_response_id: mine.body.id },
      other.headers,
    );
    expect(foreign.status).toBe(404);
    const queued = await createResponse(gateway, { model: 'local/stall', input: 'x', background: true });
    const unfinished = await createResponse(gateway, {
      model: 'local/echo',
      input: 'x',
      previous_response_id: queued.body.id,
    });
    expect(unfinished.status).toBe(400);
    expect(unfinished.body).toMatchObject({
      error: { code: 'invalid_value', param: 'previous_response_id' },
    });
    await fetch(`${gateway.url}/v1/responses/${queued.body.id}/cancel`, {
      method: 'POST',
      headers: gateway.headers,
    });
  });

  it('stores nothing with store:false, so it cannot be continued or retrieved', async () => {
    const response = await createResponse(gateway, { model: 'local/echo', input: 'x', store: false });
    expect(response.body).toMatchObject({ status: 'completed', store: false });
    const retrieved = await fetch(`${gateway.url}/v1/responses/${response.body.id}`, {
      headers: gateway.headers,
    });
    expect(retrieved.status).toBe(404);
  });
});

describe('validation (SPEC §12.1, §9.3 step 8)', () => {
  const cases: [string, Record<string, unknown>, number, Record<string, unknown>][] = [
    [
      'input is required',
      { model: 'local/echo' },
      400,
      { code: 'missing_required_parameter', param: 'input' },
    ],
    [
      'managed tools are rejected',
      { model: 'local/echo', input: 'x', tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] },
      400,
      { code: 'unsupported_parameter', param: 'tools[1]', message: 'managed tools are not yet supported' },
    ],
    [
      'a named tool_choice must exist',
      {
        model: 'local/echo',
        input: 'x',
        tools: [{ type: 'function', name: 'f' }],
        tool_choice: { type: 'function', name: 'g' },
      },
      400,
      { code: 'invalid_value', param: 'tool_choice' },
    ],
    [
      'conversation',
      { model: 'local/echo', input: 'x', conversation: 'conv_1' },
      400,
      { code: 'unsupported_parameter', param: 'conversation' },
    ],
    [
      'prompt',
      { model: 'local/echo', input: 'x', prompt: { id: 'p' } },
      400,
      { code: 'unsupported_parameter', param: 'prompt' },
    ],
    [
      'background needs store',
      { model: 'local/echo', input: 'x', background: true, store: false },
      400,
      { code: 'invalid_value', param: 'background' },
    ],
    [
      'an empty input',
      { model: 'local/echo', input: [{ type: 'reasoning', summary: [] }] },
      400,
      { code: 'invalid_value', param: 'input' },
    ],
    [
      'item_reference',
      { model: 'local/echo', input: [{ type: 'item_reference', id: 'x' }] },
      400,
      { code: 'invalid_value', param: 'input[0]' },
    ],
    [
      'a bad role',
      { model: 'local/echo', input: [{ role: 'tool', content: 'x' }] },
      400,
      { code: 'invalid_value', param: 'input[0].role' },
    ],
    [
      'an image part for a non-user role',
      {
        model: 'local/vision',
        input: [{ role: 'system', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }],
      },
      400,
      { code: 'invalid_value', param: 'input[0].content[0].type' },
    ],
    [
      'temperature out of range',
      { model: 'local/echo', input: 'x', temperature: 3 },
      400,
      { code: 'invalid_value', param: 'temperature' },
    ],
    [
      'max_output_tokens below 1',
      { model: 'local/echo', input: 'x', max_output_tokens: 0 },
      400,
      { code: 'invalid_value', param: 'max_output_tokens' },
    ],
  ];
  for (const [name, body, status, error] of cases) {
    it(`${name} → ${status} ${String(error.code)}`, async () => {
      const response = await createResponse(gateway, body);
      expect(response.status).toBe(status);
      expect(response.body).toMatchObject({ error: { ...error, type: 'invalid_request_error' } });
      expect(gateway.fake.requests).toHaveLength(0);
    });
  }

  it('runs map-or-reject per provider (https images are not accepted by Gemini)', async () => {
    const response = await createResponse(gateway, {
      model: 'google/echo',
      input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] }],
    });
    expect(response.status).toBe(400);
    expect((response.body as unknown as ResponseBody & { error: { code: string } }).error.code).toBe(
      'invalid_value',
    );
  });
});
