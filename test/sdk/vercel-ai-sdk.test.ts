import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText, jsonSchema, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeUrl, internalKey, startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
let maniac: ReturnType<typeof createOpenAICompatible>;
beforeAll(async () => {
  gateway = await startTestGateway({
    file: {
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo', 'text', 'tools', 'error-429'],
        },
      },
    },
  });
  maniac = createOpenAICompatible({
    name: 'maniac',
    baseURL: `${gateway.url}/v1`,
    apiKey: internalKey,
    includeUsage: true,
  });
});
afterAll(async () => gateway.close());

const weather = tool({
  description: 'Weather for a city',
  inputSchema: jsonSchema<{ location: string }>({
    type: 'object',
    properties: { location: { type: 'string' } },
    required: ['location'],
  }),
});

describe('the Vercel AI SDK against the gateway', () => {
  it('generateText with usage', async () => {
    const result = await generateText({ model: maniac('local/echo'), prompt: 'hello', maxRetries: 0 });
    expect(result.text).toBe('Echo: hello');
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    expect(result.finishReason).toBe('stop');
  });

  it('streamText with usage', async () => {
    const result = streamText({ model: maniac('local/text'), prompt: 'hi', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('Hello! How can I assist you today?');
    expect((await result.usage).totalTokens).toBe(29);
    expect(await result.finishReason).toBe('stop');
  });

  it('streamed parallel tool calls', async () => {
    const result = streamText({
      model: maniac('local/tools'),
      prompt: 'weather?',
      tools: { get_weather: weather },
      maxRetries: 0,
    });
    const calls = await result.toolCalls;
    expect(calls.map((call) => [call.toolName, call.input])).toEqual([
      ['get_weather', { location: 'Paris' }],
      ['get_weather', { location: 'Tokyo' }],
    ]);
    expect(await result.finishReason).toBe('tool-calls');
  });

  it('surfaces gateway errors as APICallError with status', async () => {
    for (const [model, status] of [
      ['nope/none', 404],
      ['local/error-429', 429],
    ] as const) {
      const failure = await generateText({ model: maniac(model), prompt: 'x', maxRetries: 0 }).catch(
        (error: unknown) => error,
      );
      expect(APICallError.isInstance(failure)).toBe(true);
      expect((failure as APICallError).statusCode).toBe(status);
    }
    const unauthorized = createOpenAICompatible({
      name: 'bad',
      baseURL: `${gateway.url}/v1`,
      apiKey: 'wrong',
    });
    const failure = await generateText({
      model: unauthorized('local/echo'),
      prompt: 'x',
      maxRetries: 0,
    }).catch((error: unknown) => error);
    expect((failure as APICallError).statusCode).toBe(401);
  });
});
