import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeUrl, openStream, postJson, startTestGateway, type TestGateway } from '../support/gateway.js';
import { createTenant, type Tenant } from '../support/tenants.js';

let gateway: TestGateway;
let tenant: Tenant;
beforeAll(async () => {
  gateway = await startTestGateway({
    file: {
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo', 'tools', 'error-500', 'reasoning'],
        },
      },
      models: [{ id: 'local/echo', pricing: { input: 0.000001, output: 0.000002 } }],
    },
  });
  tenant = await createTenant(gateway.app.store);
});
afterAll(async () => gateway.close());

type Row = Record<string, unknown>;

function eventsByRequestId(): Map<string, Row> {
  const path = gateway.config.storage.databaseUrl.slice('sqlite:'.length);
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('select * from request_events').all() as Row[];
    return new Map(rows.map((row) => [row.request_id as string, row]));
  } finally {
    db.close();
  }
}

describe('one request event per /v1 request (SPEC §10)', () => {
  it('records successes, upstream errors, refusals and streams with their fields', async () => {
    const headers = (id: string) => ({ ...tenant.headers, 'x-request-id': id });
    const base = { messages: [{ role: 'user', content: 'hello log' }] };
    await postJson(
      gateway,
      '/v1/chat/completions',
      {
        ...base,
        model: 'local/echo',
        tags: ['a', 'b'],
        metadata: { team: 'search' },
        trace: { id: 'trace-log', span_id: 's1', name: 'run', step: 3 },
      },
      headers('log-success'),
    );
    await postJson(
      gateway,
      '/v1/chat/completions',
      { ...base, model: 'local/error-500' },
      headers('log-upstream-error'),
    );
    await postJson(
      gateway,
      '/v1/chat/completions',
      { ...base, model: 'local/echo', n: 3 },
      headers('log-refused'),
    );
    await postJson(
      gateway,
      '/v1/chat/completions',
      { ...base, model: 'local/echo' },
      { authorization: 'Bearer wrong', 'x-request-id': 'log-unauthenticated' },
    );
    await postJson(
      gateway,
      '/v1/chat/completions',
      { ...base, model: 'local/echo', store: false },
      headers('log-unstored'),
    );
    const stream = await openStream(gateway, { ...base, model: 'local/tools' });
    void stream;
    await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: headers('log-stream'),
      body: JSON.stringify({ ...base, model: 'local/reasoning', stream: true }),
    }).then((response) => response.text());
    await stream.readAll();
    await gateway.app.flushTelemetry();

    const events = eventsByRequestId();
    const success = events.get('log-success') as Row;
    expect(success).toMatchObject({
      endpoint: 'chat.completions',
      org_id: tenant.orgId,
      project_id: tenant.projectId,
      key_id: tenant.keyId,
      model_requested: 'local/echo',
      model: 'local/echo',
      provider: 'local',
      upstream_model: 'echo',
      upstream_id: 'chatcmpl-fake-echo',
      status: 200,
      outcome: 'success',
      stream: 0,
      finish_reason: 'stop',
      usage_source: 'upstream',
      trace_id: 'trace-log',
      trace_name: 'run',
      store: 1,
    });
    expect(String(success.id)).toMatch(/^chatcmpl-/);
    expect(JSON.parse(success.tags as string)).toEqual(['a', 'b']);
    expect(JSON.parse(success.metadata as string)).toEqual({ team: 'search' });
    expect(JSON.parse(success.trace_context as string)).toEqual({ step: 3 });
    expect(Number(success.prompt_tokens)).toBeGreaterThan(0);
    expect(Number(success.cost_usd)).toBeGreaterThan(0);
    expect(Number(success.latency_ms)).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(success.request_body as string).messages[0].content).toBe('hello log');
    expect(JSON.parse(success.response_body as string).choices[0].message.content).toBe('Echo: hello log');

    expect(events.get('log-upstream-error')).toMatchObject({
      status: 502,
      outcome: 'error',
      error_type: 'api_error',
      error_code: 'upstream_error',
    });
    expect(JSON.parse((events.get('log-upstream-error') as Row).attempts as string)).toEqual([
      expect.objectContaining({
        model: 'local/error-500',
        provider: 'local',
        status: 502,
        error_code: 'upstream_error',
      }),
    ]);
    expect(events.get('log-refused')).toMatchObject({
      status: 400,
      error_code: 'unsupported_parameter',
      key_id: tenant.keyId,
    });
    expect(events.get('log-unauthenticated')).toMatchObject({
      status: 401,
      error_code: 'invalid_api_key',
      key_id: null,
    });
    expect(events.get('log-unstored')).toMatchObject({
      status: 200,
      store: 0,
      request_body: null,
      response_body: null,
    });

    const streamed = events.get('log-stream') as Row;
    expect(streamed).toMatchObject({
      stream: 1,
      outcome: 'success',
      finish_reason: 'stop',
      reasoning_tokens: 28,
    });
    expect(Number(streamed.ttft_ms)).toBeGreaterThanOrEqual(0);
    const assembled = JSON.parse(streamed.response_body as string);
    expect(assembled).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { content: '2 + 2 = 4.', reasoning: 'The user asks 2+2. That is 4.' } }],
    });
    const log = JSON.stringify([...events.values()]);
    expect(log).not.toContain(tenant.key);
    expect(log).not.toContain('local-provider-secret-key');
  });
});
