import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allFakeFormats } from '#src/fake-upstream/all-formats.js';
import { FakeUpstream } from '#src/fake-upstream/fake-upstream.js';
import { createStore } from '#src/store/create-store.js';
import type { Store } from '#src/store/repositories.js';
import { createTestSchema, type GatewayProcess, startGatewayProcess } from '../../support/gateway-process.js';
import { createTenant, type Tenant } from '../../support/tenants.js';
import { chunkLine, parseEvents } from './responses-fixture.js';

let fake: FakeUpstream;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let store: Store;
let gateways: GatewayProcess[] = [];
let tenant: Tenant;

beforeAll(async () => {
  fake = await FakeUpstream.start({ formats: allFakeFormats });
  schema = await createTestSchema();
  store = await createStore(schema.url);
  const config = {
    shutdown: { drainTimeoutMs: 1000 },
    providers: {
      local: {
        type: 'openai-compatible',
        baseUrl: fake.url,
        apiKeyEnv: 'LOCAL_KEY',
        models: ['text', 'controlled'],
      },
    },
  };
  const env = { MANIAC_DATABASE_URL: schema.url, LOCAL_KEY: 'k' };
  gateways = await Promise.all([startGatewayProcess({ config, env }), startGatewayProcess({ config, env })]);
  tenant = await createTenant(store);
}, 60_000);

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await store?.close();
  await schema?.drop();
  await fake?.close();
});

function call(gateway: GatewayProcess | undefined, method: string, path: string, body?: unknown) {
  return fetch(`${gateway?.url}${path}`, {
    method,
    headers: tenant.headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function json(gateway: GatewayProcess | undefined, method: string, path: string, body?: unknown) {
  const response = await call(gateway, method, path, body);
  return (await response.json()) as { id: string; status: string; output_text: string };
}

describe('background responses over PostgreSQL, two instances (SPEC §12.3)', () => {
  it('claims every job exactly once across instances', async () => {
    fake.reset();
    const ids = await Promise.all(
      Array.from({ length: 8 }, async (_, index) => {
        const created = await json(gateways[index % 2], 'POST', '/v1/responses', {
          model: 'local/text',
          input: 'x',
          background: true,
        });
        return created.id;
      }),
    );
    for (const id of ids) {
      await expect
        .poll(async () => (await json(gateways[0], 'GET', `/v1/responses/${id}`)).status, { timeout: 10_000 })
        .toBe('completed');
    }
    expect(fake.requests.filter((recorded) => recorded.model === 'text')).toHaveLength(8);
  });

  it('a job is read, tailed and cancelled from the instance that does not run it', async () => {
    const upstreamCalled = fake.nextControlled();
    const created = await json(gateways[0], 'POST', '/v1/responses', {
      model: 'local/controlled',
      input: 'x',
      background: true,
    });
    const upstream = await upstreamCalled;
    upstream.send(chunkLine({ role: 'assistant', content: 'Partial' }));
    for (const gateway of gateways) {
      await expect
        .poll(async () => (await json(gateway, 'GET', `/v1/responses/${created.id}`)).output_text, {
          timeout: 5000,
        })
        .toBe('Partial');
    }
    const tails = gateways.map((gateway) => call(gateway, 'GET', `/v1/responses/${created.id}?stream=true`));
    const aborted = fake.nextAbort();
    const [, other] = gateways;
    const cancelled = await json(other, 'POST', `/v1/responses/${created.id}/cancel`);
    expect(cancelled.status).toBe('cancelled');
    await aborted;
    for (const tail of tails) {
      const events = parseEvents(await (await tail).text());
      expect(events.at(-1)).toMatchObject({
        type: 'response.incomplete',
        response: { status: 'cancelled', output_text: 'Partial' },
      });
    }
    expect(fake.requests.filter((recorded) => recorded.model === 'controlled')).toHaveLength(1);
  });
});
