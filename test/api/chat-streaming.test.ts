import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  fakeUrl,
  openStream,
  parseSse,
  postJson,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    file: {
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: [
            'echo',
            'text',
            'tools',
            'reasoning',
            'no-finish',
            'comments',
            'in-band-error',
            'mid-stream-error',
            'reset-mid-stream',
            'stall-mid-stream',
            'malformed-sse',
            'controlled',
            'error-429',
            'error-400',
          ],
          timeouts: { idleMs: 300 },
        },
      },
      stream: { keepAliveMs: 100 },
    },
  });
});
afterAll(async () => gateway.close());
beforeEach(() => gateway.fake.reset());

type Chunk = {
  id: string;
  created: number;
  model: string;
  provider: string;
  choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[];
  usage?: unknown;
};

async function stream(body: Record<string, unknown>) {
  const opened = await openStream(gateway, body);
  const text = await opened.readAll();
  return { response: opened.response, text, ...parseSse(text) };
}

function chunksOf(data: string[]): Chunk[] {
  expect(data.at(-1)).toBe('[DONE]');
  return data.slice(0, -1).map((item) => {
    const chunk = JSON.parse(item) as Chunk;
    assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
    return chunk;
  });
}

/** The chunk invariants of SPEC §3.4, checked on every stream. */
function assertInvariants(chunks: Chunk[], includeUsage: boolean) {
  const first = chunks[0] as Chunk;
  for (const chunk of chunks) {
    expect([chunk.id, chunk.created, chunk.model, chunk.provider]).toEqual([
      first.id,
      first.created,
      first.model,
      first.provider,
    ]);
  }
  expect(first.choices[0]?.delta.role).toBe('assistant');
  const finishing = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
  expect(finishing).toHaveLength(1);
  if (includeUsage) {
    const last = chunks.at(-1) as Chunk;
    expect(last.choices).toEqual([]);
    expect(last.usage).toBeTruthy();
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
    expect(chunks.indexOf(finishing[0] as Chunk)).toBeLessThan(chunks.length - 1);
  } else {
    for (const chunk of chunks) expect(chunk).not.toHaveProperty('usage');
  }
}

describe('SSE framing (SPEC §3.5)', () => {
  it('frames a text stream exactly as OpenAI does', async () => {
    const { response, text, data } = await stream({
      model: 'local/text',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-maniac-provider')).toBe('local');
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(text).toMatch(/^(data: [^\n]+\n\n)+$/);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const chunks = chunksOf(data);
    assertInvariants(chunks, false);
    expect(chunks[0]?.id).toMatch(/^chatcmpl-[A-Za-z0-9]{24}$/);
    expect(chunks[0]?.model).toBe('local/text');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(
      'Hello! How can I assist you today?',
    );
  });

  it('honours include_usage with a final usage-only chunk', async () => {
    const { data } = await stream({
      model: 'local/text',
      messages: [{ role: 'user', content: 'hi' }],
      stream_options: { include_usage: true },
    });
    const chunks = chunksOf(data);
    assertInvariants(chunks, true);
    expect(chunks.at(-1)?.usage).toMatchObject({
      prompt_tokens: 19,
      completion_tokens: 10,
      total_tokens: 29,
    });
  });

  it('keeps tool-call fragments well indexed', async () => {
    const { data } = await stream({
      model: 'local/tools',
      messages: [{ role: 'user', content: 'weather?' }],
      stream_options: { include_usage: true },
    });
    const chunks = chunksOf(data);
    assertInvariants(chunks, true);
    const fragments = chunks.flatMap(
      (chunk) =>
        (chunk.choices[0]?.delta.tool_calls as {
          index: number;
          id?: string;
          function: { name?: string; arguments: string };
        }[]) ?? [],
    );
    const seen = new Set<number>();
    const calls: { id: string; name: string; arguments: string }[] = [];
    for (const fragment of fragments) {
      if (!seen.has(fragment.index)) {
        seen.add(fragment.index);
        expect(fragment.id).toBeTruthy();
        expect(fragment.function.name).toBeTruthy();
        calls[fragment.index] = {
          id: fragment.id as string,
          name: fragment.function.name as string,
          arguments: '',
        };
      } else {
        expect(fragment).not.toHaveProperty('id');
        expect(fragment.function).not.toHaveProperty('name');
      }
      (calls[fragment.index] as { arguments: string }).arguments += fragment.function.arguments;
    }
    expect([...seen]).toEqual([0, 1]);
    expect(calls.map((call) => JSON.parse(call.arguments))).toEqual([
      { location: 'Paris' },
      { location: 'Tokyo' },
    ]);
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe(
      'tool_calls',
    );
  });

  it('spells vendor reasoning as delta.reasoning', async () => {
    const { data } = await stream({ model: 'local/reasoning', messages: [{ role: 'user', content: '2+2' }] });
    const chunks = chunksOf(data);
    assertInvariants(chunks, false);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.reasoning ?? '').join('')).toBe(
      'The user asks 2+2. That is 4.',
    );
    expect(JSON.stringify(chunks)).not.toContain('reasoning_content');
  });

  it('strips reasoning when reasoning.exclude is set', async () => {
    const { data } = await stream({
      model: 'local/reasoning',
      messages: [{ role: 'user', content: '2+2' }],
      reasoning: { exclude: true },
    });
    for (const chunk of chunksOf(data)) expect(chunk.choices[0]?.delta).not.toHaveProperty('reasoning');
  });

  it('synthesizes finish_reason and estimates usage when the upstream gives neither', async () => {
    const { data } = await stream({
      model: 'local/no-finish',
      messages: [{ role: 'user', content: 'hi' }],
      stream_options: { include_usage: true },
    });
    const chunks = chunksOf(data);
    assertInvariants(chunks, true);
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)?.usage).toMatchObject({
      estimated: true,
      completion_tokens: Math.ceil('Hi there'.length / 4),
    });
  });

  it('never forwards upstream comment lines', async () => {
    const { text, data } = await stream({
      model: 'local/comments',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(text).not.toContain('OPENROUTER');
    assertInvariants(chunksOf(data), false);
  });
});

describe('stream failures (SPEC §9.4, §9.5)', () => {
  it('before the first event: a JSON error with its status, never a 200 stream', async () => {
    const rateLimited = await postJson(gateway, '/v1/chat/completions', {
      model: 'local/error-429',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(rateLimited.status).toBe(429);
    expect(rateLimited.headers.get('retry-after')).toBe('7');
    expect(rateLimited.body).toMatchObject({
      error: { type: 'rate_limit_error', code: 'upstream_rate_limited' },
    });
    const inBand = await postJson(gateway, '/v1/chat/completions', {
      model: 'local/in-band-error',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(inBand.status).toBe(502);
    expect(inBand.body).toEqual({
      error: {
        message: 'local returned an error: The server had an error while processing your request.',
        type: 'api_error',
        param: null,
        code: 'upstream_error',
      },
    });
  });

  async function expectInBandError(model: string, code: string) {
    const { response, data } = await stream({
      model,
      messages: [{ role: 'user', content: 'hello there' }],
      stream_options: { include_usage: true },
    });
    expect(response.status).toBe(200);
    expect(data.at(-1)).toBe('[DONE]');
    const error = JSON.parse(data.at(-2) as string);
    assertOpenAiSchema('ErrorResponse', error);
    expect(error.error.code).toBe(code);
    const chunks = data.slice(0, -2).map((item) => JSON.parse(item) as Chunk);
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) {
      expect(chunk.choices.length).toBe(1);
      expect(chunk.choices[0]?.finish_reason).toBeNull();
    }
  }

  it('after the first event: an error frame then [DONE], no usage or finish after it', async () => {
    await expectInBandError('local/mid-stream-error', 'upstream_error');
  });

  it('a socket reset mid-stream', async () => {
    await expectInBandError('local/reset-mid-stream', 'upstream_error');
  });

  it('a stall mid-stream hits the idle timeout', async () => {
    await expectInBandError('local/stall-mid-stream', 'upstream_timeout');
  });

  it('malformed SSE', async () => {
    await expectInBandError('local/malformed-sse', 'upstream_invalid_response');
  });
});

describe('stream flow', () => {
  it('relays each chunk as it arrives and keeps the line alive while the upstream is silent', async () => {
    const controlledNext = gateway.fake.nextControlled();
    // Headers wait for the first upstream event, so the stream is opened and fed concurrently.
    const opening = openStream(gateway, {
      model: 'local/controlled',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const controlled = await controlledNext;
    const head = { id: 'x', object: 'chat.completion.chunk', created: 1, model: 'controlled' };
    controlled.send(
      JSON.stringify({
        ...head,
        choices: [{ index: 0, delta: { role: 'assistant', content: 'first' }, finish_reason: null }],
      }),
    );
    const opened = await opening;
    const firstText = await opened.readUntil((text) => text.includes('first'));
    expect(firstText).toContain('"content":"first"');
    // The upstream stays silent: a keep-alive comment must arrive on its own.
    const withKeepAlive = await opened.readUntil((text) => text.includes(': keepalive\n'));
    expect(withKeepAlive).toContain(': keepalive\n');
    controlled.send(
      JSON.stringify({
        ...head,
        choices: [{ index: 0, delta: { content: 'second' }, finish_reason: 'stop' }],
      }),
    );
    controlled.end();
    const all = await opened.readAll();
    const { data } = parseSse(all);
    const chunks = chunksOf(data);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('firstsecond');
  });

  it('aborts the upstream request within a second of the client going away', async () => {
    const controlledNext = gateway.fake.nextControlled();
    const client = new AbortController();
    const opening = openStream(
      gateway,
      { model: 'local/controlled', messages: [{ role: 'user', content: 'hi' }] },
      client.signal,
    );
    const controlled = await controlledNext;
    controlled.send(
      JSON.stringify({ id: 'x', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }] }),
    );
    const opened = await opening;
    await opened.readUntil((text) => text.includes('"a"'));
    const aborted = gateway.fake.nextAbort();
    const startedAt = performance.now();
    client.abort();
    const request = await Promise.race([
      aborted,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('upstream not aborted within 1 s')), 1000).unref(),
      ),
    ]);
    expect(request.isAborted).toBe(true);
    expect(performance.now() - startedAt).toBeLessThan(1000);
  });

  it('does not buffer without bound for a slow reader', async () => {
    const controlledNext = gateway.fake.nextControlled();
    const opening = openStream(gateway, {
      model: 'local/controlled',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const controlled = await controlledNext;
    controlled.send(
      JSON.stringify({ id: 'x', choices: [{ index: 0, delta: { content: 'start' }, finish_reason: null }] }),
    );
    const opened = await opening;
    const piece = JSON.stringify({
      id: 'x',
      choices: [{ index: 0, delta: { content: 'y'.repeat(4096) }, finish_reason: null }],
    });
    // The client reads nothing. If the gateway kept reading, the fake could write all 64 MiB freely.
    let sentBytes = 0;
    let wasRefused = false;
    while (sentBytes < 64 * 1024 * 1024) {
      sentBytes += piece.length;
      if (!controlled.sendRaw(`data: ${piece}\n\n`) && !(await controlled.drained(1000))) {
        wasRefused = true;
        break;
      }
    }
    expect(wasRefused).toBe(true);
    expect(sentBytes).toBeLessThan(32 * 1024 * 1024);
    await opened.cancel();
    controlled.reset();
  });
});
