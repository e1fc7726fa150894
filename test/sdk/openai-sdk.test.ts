import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeUrl, internalKey, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

let gateway: TestGateway;
let client: OpenAI;
beforeAll(async () => {
  gateway = await startTestGateway({
    file: {
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo', 'text', 'tools', 'reasoning', 'error-429'],
        },
      },
    },
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: internalKey, maxRetries: 0 });
});
afterAll(async () => gateway.close());

describe('the official openai SDK against the gateway', () => {
  it('creates a completion with usage and the Maniac provider field', async () => {
    const completion = await client.chat.completions.create({
      model: 'local/echo',
      messages: [{ role: 'user', content: 'hello' }],
    });
    assertOpenAiSchema('CreateChatCompletionResponse', completion);
    expect(completion.choices[0]?.message.content).toBe('Echo: hello');
    expect(completion).toMatchObject({ provider: 'local' });
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    expect(completion.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
  });

  it('streams text with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'local/text',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello! How can I assist you today?');
    expect(usage?.total_tokens).toBe(29);
  });

  it('assembles streamed parallel tool calls with the stream helper', async () => {
    const runner = client.chat.completions.stream({
      model: 'local/tools',
      messages: [{ role: 'user', content: 'weather in Paris and Tokyo?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    });
    const final = await runner.finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(
      calls.map((call) =>
        call.type === 'function' ? [call.function.name, JSON.parse(call.function.arguments)] : [],
      ),
    ).toEqual([
      ['get_weather', { location: 'Paris' }],
      ['get_weather', { location: 'Tokyo' }],
    ]);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('returns non-streamed tool calls and reasoning', async () => {
    const tools = await client.chat.completions.create({
      model: 'local/tools',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(tools.choices[0]?.message.tool_calls).toHaveLength(2);
    const reasoning = await client.chat.completions.create({
      model: 'local/reasoning',
      messages: [{ role: 'user', content: '2+2' }],
    });
    const message: unknown = reasoning.choices[0]?.message;
    expect(message).toMatchObject({ reasoning: 'The user asks 2+2. That is 4.' });
    expect(reasoning.usage?.completion_tokens_details?.reasoning_tokens).toBe(28);
  });

  it('lists and retrieves models', async () => {
    const page = await client.models.list();
    expect(page.data.some((model) => model.id === 'local/echo')).toBe(true);
    const model = await client.models.retrieve('openai/gpt-4o-mini');
    expect(model.id).toBe('openai/gpt-4o-mini');
  });

  it('raises the SDK error classes for 401, 404 and 429', async () => {
    const wrongKey = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'not-a-key', maxRetries: 0 });
    await expect(
      wrongKey.chat.completions.create({ model: 'local/echo', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const notFound = client.chat.completions.create({
      model: 'nope/none',
      messages: [{ role: 'user', content: 'x' }],
    });
    await expect(notFound).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(notFound).rejects.toMatchObject({
      code: 'model_not_found',
      param: 'model',
      type: 'not_found_error',
    });
    await expect(
      client.chat.completions.create({
        model: 'local/error-429',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });
});
