import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '#src/clock.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';
import { createTenant } from '../support/tenants.js';

/** A wall clock frozen 10 s into a window, so no test straddles a window boundary. */
const windowStartSeconds = Math.floor(Date.now() / 60_000) * 60;
const frozenNowMs = (windowStartSeconds + 10) * 1000;
const clock: Clock = { now: () => frozenNowMs, monotonic: () => performance.now() };

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ clock, file: { rateLimit: { orgLimit: 5, anonymousLimit: 3 } } });
});
afterAll(async () => gateway.close());

const chatBody = JSON.stringify({ model: 'local/echo', messages: [{ role: 'user', content: 'hi' }] });

async function request(path: string, headers: Record<string, string>, method = 'POST') {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers,
    body: method === 'POST' ? chatBody : undefined,
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, body };
}

function limitHeaders(headers: Headers) {
  return [
    headers.get('x-ratelimit-limit'),
    headers.get('x-ratelimit-remaining'),
    headers.get('x-ratelimit-reset'),
  ];
}

describe('rate limits (SPEC §7)', () => {
  it('puts x-ratelimit-* on every /v1 response and refuses past the org limit with 429 and Retry-After', async () => {
    const tenant = await createTenant(gateway.app.store);
    const reset = String(windowStartSeconds + 60);
    const seen = [
      await request('/v1/chat/completions', tenant.headers),
      await request('/v1/models', tenant.headers, 'GET'),
      await request('/v1/models/nope%2Fnone', tenant.headers, 'GET'),
      await request('/v1/unknown', tenant.headers, 'GET'),
      await request('/api/v1/chat/completions', tenant.headers),
    ];
    expect(seen.map((response) => response.status)).toEqual([200, 200, 404, 404, 200]);
    expect(seen.map((response) => limitHeaders(response.headers))).toEqual([
      ['5', '4', reset],
      ['5', '3', reset],
      ['5', '2', reset],
      ['5', '1', reset],
      ['5', '0', reset],
    ]);
    const refused = await request('/v1/chat/completions', tenant.headers);
    assertOpenAiSchema('ErrorResponse', refused.body);
    expect([refused.status, refused.body]).toEqual([
      429,
      {
        error: {
          message: 'rate limit exceeded',
          type: 'rate_limit_error',
          param: null,
          code: 'rate_limit_exceeded',
        },
      },
    ]);
    expect(refused.headers.get('retry-after')).toBe('50');
    expect(limitHeaders(refused.headers)).toEqual(['5', '0', reset]);
  });

  it('applies a key limit below the org limit', async () => {
    const tenant = await createTenant(gateway.app.store, { keyRateLimit: 2 });
    const statuses = [];
    for (let index = 0; index < 3; index++)
      statuses.push((await request('/v1/chat/completions', tenant.headers)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('counts failed authentication per client IP, so keys cannot be guessed at full speed', async () => {
    const guesses = [];
    for (let index = 0; index < 5; index++) {
      const response = await request('/v1/chat/completions', {
        authorization: `Bearer mk_live_guess${index}`,
        'content-type': 'application/json',
        'x-forwarded-for': '203.0.113.9',
      });
      guesses.push([response.status, response.headers.get('x-ratelimit-limit')]);
    }
    expect(guesses).toEqual([
      [401, '3'],
      [401, '3'],
      [401, '3'],
      [429, '3'],
      [429, '3'],
    ]);
  });

  it('refuses once the window token count reached a token limit, with token headers', async () => {
    const tenant = await createTenant(gateway.app.store, { tokenRateLimit: 5 });
    const first = await request('/v1/chat/completions', tenant.headers);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('5');
    // Token counts are recorded when the request settles; wait for the count, not for time.
    for (let turn = 0; turn < 100; turn++) {
      const probe = await request('/v1/models', tenant.headers, 'GET');
      if (probe.status === 429) {
        expect(probe.body).toMatchObject({
          error: { message: 'token rate limit exceeded', code: 'rate_limit_exceeded' },
        });
        expect(probe.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
        return;
      }
    }
    expect.unreachable('the token limit never applied');
  });
});
