import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => gateway.close());

describe('smoke', () => {
  it('answers a chat completion', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: gateway.headers,
      body: JSON.stringify({ model: 'local/echo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(response.status, JSON.stringify(body)).toBe(200);
    assertOpenAiSchema('CreateChatCompletionResponse', body);
    expect(body.choices[0].message.content).toBe('Echo: hi');
  });
  it('streams', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: gateway.headers,
      body: JSON.stringify({
        model: 'local:echo',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'hello world' }],
      }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const { data } = parseSse(text);
    expect(data.at(-1)).toBe('[DONE]');
    for (const item of data.slice(0, -1))
      assertOpenAiSchema('CreateChatCompletionStreamResponse', JSON.parse(item));
  });
});
