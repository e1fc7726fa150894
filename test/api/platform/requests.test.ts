import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeUrl, startTestGateway, type TestGateway } from '../../support/gateway.js';
import { createTenant, type Tenant } from '../../support/tenants.js';

let gateway: TestGateway;
let tenant: Tenant;
let stranger: Tenant;

beforeAll(async () => {
  gateway = await startTestGateway({
    file: {
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo', 'error-500'],
        },
      },
    },
  });
  tenant = await createTenant(gateway.app.store);
  stranger = await createTenant(gateway.app.store);
  const chat = (who: Tenant, body: Record<string, unknown>, requestId: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...who.headers, 'x-request-id': requestId },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...body }),
    }).then((response) => response.text());
  await chat(tenant, { model: 'local/echo', tags: ['alpha'] }, 'rq-ok');
  await chat(tenant, { model: 'local/error-500', tags: ['alpha'] }, 'rq-upstream-error');
  await chat(tenant, { model: 'local/echo', n: 2 }, 'rq-refused');
  await chat(stranger, { model: 'local/echo' }, 'rq-stranger');
});
afterAll(async () => gateway.close());

async function get(path: string, who: Tenant = tenant) {
  const response = await fetch(`${gateway.url}${path}`, { headers: who.headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

type Row = {
  id: string;
  request_id: string;
  status: number;
  outcome: string;
  error_code: string | null;
  latency_ms: number;
  stored: boolean;
};

describe('GET /v1/requests: the request log of the project, every outcome', () => {
  it('lists successes and failures newest first with timing, and only the caller’s', async () => {
    const { status, body } = await get('/v1/requests');
    expect(status).toBe(200);
    const rows = body.data as Row[];
    const requestIds = rows.map((row) => row.request_id);
    expect(requestIds).toEqual(expect.arrayContaining(['rq-ok', 'rq-upstream-error', 'rq-refused']));
    expect(requestIds).not.toContain('rq-stranger');
    const ok = rows.find((row) => row.request_id === 'rq-ok') as Row;
    expect(ok).toMatchObject({ object: 'request', status: 200, outcome: 'success', stored: true });
    expect(ok.latency_ms).toBeGreaterThanOrEqual(0);
    expect(rows.find((row) => row.request_id === 'rq-upstream-error')).toMatchObject({
      status: 502,
      outcome: 'error',
      error_code: 'upstream_error',
      stored: false,
    });
    expect(body).not.toHaveProperty('data.0.request_body');
    expect(JSON.stringify(body)).not.toContain(tenant.key);
  });

  it('filters by status and tag', async () => {
    const errors = (await get('/v1/requests?status=error')).body.data as Row[];
    expect(errors.map((row) => row.request_id).sort()).toEqual(['rq-refused', 'rq-upstream-error']);
    const tagged = (await get('/v1/requests?tag=alpha&status=success')).body.data as Row[];
    expect(tagged.map((row) => row.request_id)).toEqual(['rq-ok']);
    const bad = await get('/v1/requests?status=maybe');
    expect(bad.status).toBe(400);
  });

  it('retrieves one row, and 404 request_not_found for another project’s or an unknown id', async () => {
    const rows = (await get('/v1/requests')).body.data as Row[];
    const ok = rows.find((row) => row.request_id === 'rq-ok') as Row;
    expect((await get(`/v1/requests/${ok.id}`)).body).toMatchObject({ id: ok.id, status: 200 });
    const hidden = await get(`/v1/requests/${ok.id}`, stranger);
    expect(hidden).toEqual({
      status: 404,
      body: {
        error: {
          message: `No request found with id '${ok.id}'.`,
          type: 'not_found_error',
          param: null,
          code: 'request_not_found',
        },
      },
    });
  });
});
