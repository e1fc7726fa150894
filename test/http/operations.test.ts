import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => gateway.close());

describe('health, readiness, OpenAPI, request ids (SPEC §13)', () => {
  it('GET /healthz answers without a key', async () => {
    const response = await fetch(`${gateway.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz reports ready with its checks', async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { storage: 'ok', ratelimit: 'ok' } });
  });

  it('GET /openapi.json is generated from the request schemas', async () => {
    const response = await fetch(`${gateway.url}/openapi.json`);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/chat/completions', '/v1/models', '/v1/models/{id}']),
    );
    const request = document.components.schemas.CreateChatCompletionRequest;
    expect(request?.properties).toHaveProperty('tags');
    expect(request?.properties).toHaveProperty('messages');
  });

  it('echoes a well-formed x-request-id and mints one otherwise, on every response', async () => {
    const echoed = await postJson(
      gateway,
      '/v1/chat/completions',
      { model: 'local/echo', messages: [{ role: 'user', content: 'x' }] },
      {
        'x-request-id': 'client-id.42:abc',
      },
    );
    expect(echoed.headers.get('x-request-id')).toBe('client-id.42:abc');
    const replaced = await postJson(
      gateway,
      '/v1/chat/completions',
      {},
      { 'x-request-id': 'bad id with spaces' },
    );
    expect(replaced.status).toBe(400);
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_[0-9A-HJKMNP-TV-Z]{26}$/);
    const health = await fetch(`${gateway.url}/healthz`);
    expect(health.headers.get('x-request-id')).toMatch(/^req_/);
    const unknown = await fetch(`${gateway.url}/nowhere`, { headers: gateway.headers });
    expect(unknown.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('GET /metrics exposes Prometheus counters', async () => {
    await postJson(gateway, '/v1/chat/completions', {
      model: 'local/echo',
      messages: [{ role: 'user', content: 'x' }],
    });
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toMatch(
      /maniac_requests_total\{endpoint="chat.completions",status="200",provider="local",model="local\/echo"\} \d+/,
    );
    expect(text).toContain('maniac_ratelimit_fail_open_total');
    expect(text).toContain('maniac_telemetry_dropped_events_total');
    // The process's own figures, under prom-client's default names, read at scrape time.
    const sampleOf = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    for (const name of [
      'process_resident_memory_bytes',
      'nodejs_heap_size_total_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(sampleOf(name), name).toBeGreaterThan(1024 * 1024);
    }
    expect(sampleOf('nodejs_external_memory_bytes')).toBeGreaterThan(0);
    expect(sampleOf('nodejs_heap_size_used_bytes')).toBeLessThanOrEqual(
      sampleOf('nodejs_heap_size_total_bytes'),
    );
    expect(sampleOf('process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('logs one JSON line per request without the key', async () => {
    await postJson(
      gateway,
      '/v1/chat/completions',
      { model: 'local/echo', messages: [{ role: 'user', content: 'x' }] },
      {
        'x-request-id': 'log-line-check',
      },
    );
    const line = gateway.logLines
      .map((text) => JSON.parse(text))
      .find((entry) => entry.request_id === 'log-line-check');
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      status: 200,
      model: 'local/echo',
      key_id: 'internal',
    });
    expect(gateway.logLines.join('\n')).not.toContain(gateway.headers.authorization?.slice(7));
    expect(gateway.logLines.join('\n')).not.toContain('local-provider-secret-key');
  });
});

describe('GET /metrics with MANIAC_METRICS_TOKEN', () => {
  it('requires the bearer token, compared as a secret', async () => {
    const guarded = await startTestGateway({ env: { MANIAC_METRICS_TOKEN: 'metrics-token-0123456789' } });
    try {
      const status = async (headers: Record<string, string>) =>
        (await fetch(`${guarded.url}/metrics`, { headers })).status;
      expect(await status({})).toBe(401);
      expect(await status({ authorization: 'Bearer metrics-token-012345678' })).toBe(401);
      expect(await status({ authorization: 'bearer metrics-token-0123456789' })).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
