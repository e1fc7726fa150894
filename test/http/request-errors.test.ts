import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalKey, postJson, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ file: { server: { maxBodyBytes: 4096 } } });
});
afterAll(async () => gateway.close());

const chat = '/v1/chat/completions';
const user = [{ role: 'user', content: 'hi' }];

type Envelope = { error: { message: string; type: string; param: string | null; code: string | null } };

async function expectError(
  response: { status: number; body: unknown; headers: Headers },
  status: number,
  code: string,
  param: string | null,
  message?: string,
) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  assertOpenAiSchema('ErrorResponse', response.body);
  const { error } = response.body as Envelope;
  expect(error.code).toBe(code);
  expect(error.param).toBe(param);
  if (message !== undefined) expect(error.message).toBe(message);
  expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(ts|js):\d+/);
}

describe('request errors answer with the OpenAI envelope (SPEC §9)', () => {
  it('malformed JSON', async () => {
    await expectError(
      await postJson(gateway, chat, '{"model": '),
      400,
      'invalid_json',
      null,
      'Request body is not valid JSON.',
    );
  });

  it('a body that is not an object', async () => {
    await expectError(await postJson(gateway, chat, '[1,2]'), 400, 'invalid_type', null);
  });

  it('missing model and messages', async () => {
    await expectError(
      await postJson(gateway, chat, { messages: user }),
      400,
      'missing_required_parameter',
      'model',
      "Missing required parameter: 'model'.",
    );
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo' }),
      400,
      'missing_required_parameter',
      'messages',
    );
  });

  it('empty messages', async () => {
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: [] }),
      400,
      'invalid_value',
      'messages',
    );
  });

  it('wrong types, with the path of the bad field', async () => {
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, temperature: '1' }),
      400,
      'invalid_type',
      'temperature',
      "Invalid type for 'temperature': expected a number.",
    );
    await expectError(
      await postJson(gateway, chat, {
        model: 'local/echo',
        messages: [user[0], { role: 'user', content: [{ type: 'image_url', image_url: { url: 5 } }] }],
      }),
      400,
      'invalid_type',
      'messages[1].content[0].image_url.url',
    );
  });

  it('out of range and unknown enum values', async () => {
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, top_p: 2 }),
      400,
      'invalid_value',
      'top_p',
    );
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: [{ role: 'wizard', content: 'x' }] }),
      400,
      'invalid_value',
      'messages[0].role',
    );
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, tool_choice: 'sometimes' }),
      400,
      'invalid_value',
      'tool_choice',
    );
  });

  it('n > 1 is unsupported, n < 1 invalid', async () => {
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, n: 2 }),
      400,
      'unsupported_parameter',
      'n',
      'Only n=1 is supported.',
    );
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, n: 0 }),
      400,
      'invalid_value',
      'n',
    );
  });

  it('consistency rules: top_logprobs without logprobs, unknown named tool, container as fallback', async () => {
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, top_logprobs: 2 }),
      400,
      'invalid_value',
      'top_logprobs',
    );
    await expectError(
      await postJson(gateway, chat, {
        model: 'local/echo',
        messages: user,
        tools: [{ type: 'function', function: { name: 'a' } }],
        tool_choice: { type: 'function', function: { name: 'b' } },
      }),
      400,
      'invalid_value',
      'tool_choice',
    );
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, models: ['maniac:bot'] }),
      400,
      'invalid_value',
      'models[0]',
    );
  });

  it('Maniac field limits', async () => {
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, tags: [''] }),
      400,
      'invalid_value',
      'tags[0]',
    );
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, trace: { span_id: 'x' } }),
      400,
      'missing_required_parameter',
      'trace.id',
    );
    await expectError(
      await postJson(gateway, chat, {
        model: 'local/echo',
        messages: user,
        models: ['a', 'b', 'c', 'd', 'e', 'f'],
      }),
      400,
      'invalid_value',
      'models',
    );
  });

  it('an image for a text-only model', async () => {
    await expectError(
      await postJson(gateway, chat, {
        model: 'local/echo',
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        ],
      }),
      400,
      'invalid_value',
      'messages[0].content[0]',
    );
  });

  it('unknown model and unknown fallback are 404 before any upstream call', async () => {
    gateway.fake.reset();
    await expectError(
      await postJson(gateway, chat, { model: 'nope/nothing', messages: user }),
      404,
      'model_not_found',
      'model',
      "No model found with id 'nope/nothing'.",
    );
    await expectError(
      await postJson(gateway, chat, { model: 'local/echo', messages: user, models: ['nope/x'] }),
      404,
      'model_not_found',
      'models',
    );
    expect(gateway.fake.requests).toHaveLength(0);
  });

  it('a wrong content type', async () => {
    await expectError(
      await postJson(gateway, chat, JSON.stringify({ model: 'local/echo', messages: user }), {
        'content-type': 'text/plain',
      }),
      400,
      'invalid_value',
      'Content-Type',
    );
  });

  it('a missing content type is accepted', async () => {
    const response = await fetch(`${gateway.url}${chat}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${internalKey}` },
      body: new Blob([JSON.stringify({ model: 'local/echo', messages: user })]),
    });
    expect(response.status).toBe(200);
  });

  it('a body over the limit, refused without reading it', async () => {
    await expectError(
      await postJson(gateway, chat, {
        model: 'local/echo',
        messages: [{ role: 'user', content: 'x'.repeat(5000) }],
      }),
      400,
      'request_too_large',
      null,
      'Request body exceeds 4096 bytes.',
    );
    // Announce 10 MB and send nothing: the answer must come from the Content-Length alone.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${gateway.url}${chat}`, {
        method: 'POST',
        headers: { ...gateway.headers, 'content-length': String(10 * 1024 * 1024) },
      });
      request.on('response', (response) => {
        let body = '';
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      request.flushHeaders();
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe('request_too_large');
  });

  it('unknown routes and wrong methods', async () => {
    const unknown = await fetch(`${gateway.url}/v1/nothing-here`, { headers: gateway.headers });
    await expectError(
      { status: unknown.status, headers: unknown.headers, body: await unknown.json() },
      404,
      'unknown_route',
      null,
      'Unknown route: GET /v1/nothing-here.',
    );
    const wrongMethod = await fetch(`${gateway.url}/v1/models`, {
      method: 'DELETE',
      headers: gateway.headers,
    });
    await expectError(
      { status: wrongMethod.status, headers: wrongMethod.headers, body: await wrongMethod.json() },
      404,
      'unknown_route',
      null,
      'Unknown route: DELETE /v1/models.',
    );
  });

  it('a missing or wrong key is 401 with WWW-Authenticate, even on unknown routes', async () => {
    const missing = await fetch(`${gateway.url}/v1/models`);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    await expectError(
      { status: missing.status, headers: missing.headers, body: await missing.json() },
      401,
      'missing_api_key',
      null,
      "Missing API key. Send it as 'Authorization: Bearer <key>'.",
    );
    const wrong = await fetch(`${gateway.url}/v1/nothing`, {
      headers: { authorization: 'Bearer not-the-key' },
    });
    await expectError(
      { status: wrong.status, headers: wrong.headers, body: await wrong.json() },
      401,
      'invalid_api_key',
      null,
    );
  });

  it('keeps serving after all of the above', async () => {
    const response = await postJson(gateway, chat, { model: 'local/echo', messages: user });
    expect(response.status).toBe(200);
  });
});
