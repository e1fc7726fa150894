import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toTransportError, UpstreamAbortedError } from '#src/upstream/upstream-client.js';
import {
  fakeUrl,
  openStream,
  parseSse,
  postJson,
  startTestGateway,
  type TestGateway,
} from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

const scenarios = [
  'echo',
  'error-400',
  'error-401',
  'error-404',
  'error-429',
  'error-500',
  'error-503',
  'in-band-error',
  'mid-stream-error',
  'stall',
  'malformed-json',
  'wrong-content-type',
  'oversized',
  'slow-first-byte',
  'reset-before-headers',
];

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    file: {
      server: { maxResponseBytes: 1024 * 1024 },
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: scenarios,
        },
        quick: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['stall', 'slow-first-byte', 'echo'],
          timeouts: { firstByteMs: 150 },
        },
        brief: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['slow-first-byte'],
          timeouts: { totalMs: 100 },
        },
        dead: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'x', models: ['echo'] },
        nokey: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'UNSET_PROVIDER_KEY',
          models: ['echo'],
        },
      },
    },
  });
});
afterAll(async () => gateway.close());
beforeEach(() => {
  gateway.fake.reset();
  gateway.finished.length = 0;
});

const messages = [{ role: 'user', content: 'ping' }];

async function chat(model: string, fallbacks: string[] = [], extra: Record<string, unknown> = {}) {
  const response = await postJson(gateway, '/v1/chat/completions', {
    model,
    models: fallbacks,
    messages,
    ...extra,
  });
  if (response.status >= 400) assertOpenAiSchema('ErrorResponse', response.body);
  else assertOpenAiSchema('CreateChatCompletionResponse', response.body);
  return response;
}

describe('what falls back (SPEC §5.4)', () => {
  const fallsBack: [string, number, string][] = [
    ['local/error-429', 429, 'upstream_rate_limited'],
    ['local/error-500', 502, 'upstream_error'],
    ['local/error-503', 503, 'upstream_overloaded'],
    ['local/error-401', 502, 'upstream_auth_failed'],
    ['local/error-404', 502, 'upstream_error'],
    ['dead/echo', 502, 'upstream_unreachable'],
    ['nokey/echo', 502, 'provider_key_missing'],
    ['local/malformed-json', 502, 'upstream_invalid_response'],
    ['local/wrong-content-type', 502, 'upstream_invalid_response'],
    ['local/oversized', 502, 'upstream_invalid_response'],
    ['local/reset-before-headers', 502, 'upstream_unreachable'],
    ['quick/stall', 502, 'upstream_timeout'],
  ];

  for (const [model, status, code] of fallsBack) {
    it(`${model}: alone → ${status} ${code}; with a fallback → served by it`, async () => {
      const alone = await chat(model);
      expect(alone.status).toBe(status);
      expect(alone.body).toMatchObject({ error: { code } });
      expect(JSON.stringify(alone.body)).not.toContain('127.0.0.1');
      const served = await chat(model, ['local/echo']);
      expect(served.status).toBe(200);
      expect(served.body).toMatchObject({ model: 'local/echo', provider: 'local' });
      expect(served.headers.get('x-maniac-attempts')).toBe('2');
      expect(served.headers.get('x-maniac-model')).toBe('local/echo');
      const record = gateway.finished.at(-1)?.record;
      expect(record?.attempts.map((attempt) => [attempt.model, attempt.error_code])).toEqual([
        [model, code],
        ['local/echo', null],
      ]);
    });
  }

  it('upstream 400 never falls back and keeps the vendor message and param', async () => {
    const response = await chat('local/error-400', ['local/echo']);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: {
        message: "local rejected the request: Invalid value for 'temperature': expected a number.",
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'upstream_bad_request',
      },
    });
    expect(gateway.fake.requests.map((request) => request.model)).toEqual(['error-400']);
  });

  it('returns the last error when every candidate fails, each tried once', async () => {
    const response = await chat('local/error-503', ['local/error-500', 'local/error-429']);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(gateway.fake.requests.map((request) => request.model)).toEqual([
      'error-503',
      'error-500',
      'error-429',
    ]);
  });

  it('drops duplicate candidates and the primary from the list', async () => {
    await chat('local/error-500', ['local/error-500', 'local/error-503', 'local/error-503']);
    expect(gateway.fake.requests.map((request) => request.model)).toEqual(['error-500', 'error-503']);
  });

  it('a stream whose first event is an error falls back', async () => {
    const opened = await openStream(gateway, {
      model: 'local/in-band-error',
      models: ['local/echo'],
      messages,
    });
    const { data } = parseSse(await opened.readAll());
    expect(opened.response.status).toBe(200);
    expect(opened.response.headers.get('x-maniac-model')).toBe('local/echo');
    expect(data.at(-1)).toBe('[DONE]');
    expect(JSON.parse(data[0] as string).model).toBe('local/echo');
  });

  it('nothing falls back after the first byte', async () => {
    const opened = await openStream(gateway, {
      model: 'local/mid-stream-error',
      models: ['local/echo'],
      messages,
    });
    const { data } = parseSse(await opened.readAll());
    expect(opened.response.status).toBe(200);
    expect(JSON.parse(data.at(-2) as string).error.code).toBe('upstream_error');
    expect(gateway.fake.requests.map((request) => request.model)).toEqual(['mid-stream-error']);
  });
});

describe('timeouts (SPEC §13.4)', () => {
  it('first byte: a stalled upstream gives 502 upstream_timeout naming the limit', async () => {
    const response = await chat('quick/stall');
    expect(response.body).toEqual({
      error: {
        message: 'quick did not answer in 150 ms.',
        type: 'api_error',
        param: null,
        code: 'upstream_timeout',
      },
    });
  });

  it('first byte on streams: the first event must come in time', async () => {
    const response = await postJson(gateway, '/v1/chat/completions', {
      model: 'quick/stall',
      stream: true,
      messages,
    });
    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({ error: { code: 'upstream_timeout' } });
  });

  it('total deadline', async () => {
    const response = await chat('brief/slow-first-byte');
    expect(response.status).toBe(502);
    expect(response.body).toMatchObject({
      error: { code: 'upstream_timeout', message: 'brief did not answer in 100 ms.' },
    });
  });

  it('maps transport failures in one place', () => {
    const options = {
      providerName: 'p',
      timeouts: { connectMs: 1, firstByteMs: 2, idleMs: 3, totalMs: 4 },
      signal: new AbortController().signal,
    };
    const codeOf = (code: string) => {
      const error = toTransportError(Object.assign(new Error('x'), { code }), options);
      return error instanceof UpstreamAbortedError
        ? 'aborted'
        : [error.code, error.message, error.shouldFallBack];
    };
    expect(codeOf('UND_ERR_CONNECT_TIMEOUT')).toEqual([
      'upstream_timeout',
      'p did not answer in 1 ms.',
      true,
    ]);
    expect(codeOf('UND_ERR_HEADERS_TIMEOUT')).toEqual([
      'upstream_timeout',
      'p did not answer in 2 ms.',
      true,
    ]);
    expect(codeOf('UND_ERR_BODY_TIMEOUT')).toEqual(['upstream_timeout', 'p did not answer in 3 ms.', true]);
    expect(codeOf('ECONNREFUSED')).toEqual(['upstream_unreachable', 'p could not be reached.', true]);
    const aborted = new AbortController();
    aborted.abort(new Error('client gone'));
    expect(toTransportError(new Error('x'), { ...options, signal: aborted.signal })).toBeInstanceOf(
      UpstreamAbortedError,
    );
  });
});
