import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalKey, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

/**
 * One behavioural suite over every provider family, driven by both official SDKs. Each family
 * replays its own recorded transcripts (scenario = upstream model name) in its own wire format.
 */
const families = [
  {
    provider: 'openai',
    scenarios: { text: 'text', tools: 'tools', reasoning: 'reasoning', rateLimited: 'error-429' },
  },
  {
    provider: 'anthropic',
    scenarios: { text: 'text', tools: 'tool-use', reasoning: 'thinking', rateLimited: 'error-429' },
  },
  {
    provider: 'google',
    scenarios: { text: 'text', tools: 'function-call', reasoning: 'thinking', rateLimited: 'error-429' },
  },
] as const;

let gateway: TestGateway;
let client: OpenAI;
let vercel: ReturnType<typeof createOpenAICompatible>;

beforeAll(async () => {
  gateway = await startTestGateway({
    file: {
      models: families.flatMap((family) =>
        Object.values(family.scenarios).map((scenario) => ({
          id: `${family.provider}/conformance-${scenario}`,
          provider: family.provider,
          upstream_model: scenario,
          max_output_tokens: 1024,
          input_modalities: ['text', 'image'],
        })),
      ),
    },
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: internalKey, maxRetries: 0 });
  vercel = createOpenAICompatible({
    name: 'maniac',
    baseURL: `${gateway.url}/v1`,
    apiKey: internalKey,
    includeUsage: true,
  });
});
afterAll(async () => gateway.close());

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

for (const family of families) {
  const model = (scenario: string) => `${family.provider}/conformance-${scenario}`;

  describe(`provider conformance: ${family.provider}`, () => {
    it('answers the same text plainly and streamed, with usage, via the openai SDK', async () => {
      const plain = await client.chat.completions.create({
        model: model(family.scenarios.text),
        messages: [{ role: 'user', content: 'Hello' }],
      });
      assertOpenAiSchema('CreateChatCompletionResponse', plain);
      expect(plain).toMatchObject({ provider: family.provider, model: model(family.scenarios.text) });
      expect(plain.choices[0]?.finish_reason).toBe('stop');
      const text = plain.choices[0]?.message.content ?? '';
      expect(text.length).toBeGreaterThan(0);
      expect(plain.usage?.prompt_tokens).toBeGreaterThan(0);
      expect(plain.usage?.total_tokens).toBe(
        (plain.usage?.prompt_tokens ?? 0) + (plain.usage?.completion_tokens ?? 0),
      );

      const stream = await client.chat.completions.create({
        model: model(family.scenarios.text),
        messages: [{ role: 'user', content: 'Hello' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let streamed = '';
      let finishes = 0;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
        streamed += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) finishes++;
        if (chunk.usage) usage = chunk.usage;
      }
      // Plain and streamed transcripts are separate recordings; both must carry text.
      expect(streamed.length).toBeGreaterThan(0);
      expect(finishes).toBe(1);
      expect(usage?.total_tokens).toBeGreaterThan(0);
    });

    it('returns parallel tool calls with stable ids, plainly and streamed', async () => {
      const plain = await client.chat.completions.create({
        model: model(family.scenarios.tools),
        messages: [{ role: 'user', content: 'Weather in Paris and Tokyo?' }],
        tools: [weatherTool],
      });
      const calls = plain.choices[0]?.message.tool_calls ?? [];
      expect(plain.choices[0]?.finish_reason).toBe('tool_calls');
      expect(calls).toHaveLength(2);
      expect(new Set(calls.map((call) => call.id)).size).toBe(2);
      const streamed = await client.chat.completions
        .stream({
          model: model(family.scenarios.tools),
          messages: [{ role: 'user', content: 'Weather?' }],
          tools: [weatherTool],
        })
        .finalChatCompletion();
      const streamedCalls = streamed.choices[0]?.message.tool_calls ?? [];
      expect(
        streamedCalls.map((call) =>
          call.type === 'function' ? [call.function.name, JSON.parse(call.function.arguments)] : [],
        ),
      ).toEqual(
        calls.map((call) =>
          call.type === 'function' ? [call.function.name, JSON.parse(call.function.arguments)] : [],
        ),
      );
    });

    it('surfaces reasoning as message.reasoning and delta.reasoning', async () => {
      const plain = await client.chat.completions.create({
        model: model(family.scenarios.reasoning),
        messages: [{ role: 'user', content: 'Think' }],
      });
      const message: unknown = plain.choices[0]?.message;
      expect((message as { reasoning?: string }).reasoning?.length ?? 0).toBeGreaterThan(0);
      const stream = await client.chat.completions.create({
        model: model(family.scenarios.reasoning),
        messages: [{ role: 'user', content: 'Think' }],
        stream: true,
      });
      let reasoning = '';
      for await (const chunk of stream) {
        const delta: unknown = chunk.choices[0]?.delta;
        reasoning += (delta as { reasoning?: string } | undefined)?.reasoning ?? '';
      }
      expect(reasoning).toBe((message as { reasoning: string }).reasoning);
    });

    it('works with the Vercel AI SDK, tools included', async () => {
      const result = await generateText({
        model: vercel(model(family.scenarios.text)),
        prompt: 'Hello',
        maxRetries: 0,
      });
      expect(result.text.length).toBeGreaterThan(0);
      expect(result.usage.totalTokens).toBeGreaterThan(0);
      const streamed = streamText({
        model: vercel(model(family.scenarios.tools)),
        prompt: 'Weather?',
        tools: {
          get_weather: tool({
            inputSchema: jsonSchema<{ location: string }>(weatherTool.function.parameters as never),
          }),
        },
        maxRetries: 0,
      });
      expect((await streamed.toolCalls).map((call) => call.toolName)).toEqual(['get_weather', 'get_weather']);
    });

    it('maps a vendor 429 to the SDK rate-limit error', async () => {
      await expect(
        client.chat.completions.create({
          model: model(family.scenarios.rateLimited),
          messages: [{ role: 'user', content: 'x' }],
        }),
      ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    });
  });
}
