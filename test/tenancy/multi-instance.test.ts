import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revocationChannel } from '#src/auth/redis-revocation-bus.js';
import { BillingGate } from '#src/billing/billing-gate.js';
import { storeLedger } from '#src/billing/local-ledger.js';
import { loadTokenizer } from '#src/billing/prompt-tokens.js';
import { systemClock } from '#src/clock.js';
import { allFakeFormats } from '#src/fake-upstream/all-formats.js';
import { FakeUpstream } from '#src/fake-upstream/fake-upstream.js';
import { ModelCatalog } from '#src/routing/model-catalog.js';
import { createStore } from '#src/store/create-store.js';
import type { Store } from '#src/store/repositories.js';
import {
  createTestSchema,
  type GatewayProcess,
  startGatewayProcess,
  testRedisUrl,
} from '../support/gateway-process.js';
import { createTenant } from '../support/tenants.js';

const pricedModel = {
  id: 'local/priced',
  upstream_model: 'echo',
  max_output_tokens: 100,
  pricing: { input: 0.000001, output: 0.000002 },
};

let fake: FakeUpstream;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let store: Store;
let gateways: GatewayProcess[] = [];

beforeAll(async () => {
  fake = await FakeUpstream.start({ formats: allFakeFormats });
  schema = await createTestSchema();
  store = await createStore(schema.url);
  const config = {
    billing: { mode: 'prepaid' },
    // One-day windows: the test cannot straddle a window boundary except at midnight UTC.
    // A generous limiter timeout: under a loaded test machine a slow Redis reply would fail open.
    rateLimit: { windowSeconds: 86_400, orgLimit: 10, timeoutMs: 5000 },
    providers: {
      local: { type: 'openai-compatible', baseUrl: fake.url, apiKeyEnv: 'LOCAL_KEY', models: ['echo'] },
    },
    models: [pricedModel],
    telemetry: { flushIntervalMs: 3_600_000 },
  };
  const env = { MANIAC_DATABASE_URL: schema.url, MANIAC_REDIS_URL: testRedisUrl, LOCAL_KEY: 'k' };
  gateways = await Promise.all([startGatewayProcess({ config, env }), startGatewayProcess({ config, env })]);
}, 60_000);

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await store?.close();
  await schema?.drop();
  await fake?.close();
});

/** The gateway's own worst-case estimate for one request, from the same catalog entry. */
function estimateOf(request: Record<string, unknown>): number {
  const gate = new BillingGate({
    ledger: storeLedger(store.billing),
    budgets: store.billing,
    mode: 'prepaid',
    clock: systemClock,
    newReservationId: () => 'x',
  });
  const catalog = new ModelCatalog({
    builtIn: [],
    configured: [pricedModel],
    providers: [],
    providerPreference: [],
    hideUnkeyed: false,
  });
  return gate.estimate(request as never, [
    { model: catalog.resolve('local/priced'), provider: undefined as never },
  ]);
}

function chat(gateway: GatewayProcess, headers: Record<string, string>, model = 'local/echo') {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

describe('two gateway processes on one PostgreSQL and one Redis', () => {
  it('share one rate limit exactly: 10 per window across both', async () => {
    const tenant = await createTenant(store);
    await store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 100_000_000, now: Date.now() });
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, index) => chat(gateways[index % 2] as GatewayProcess, tenant.headers)),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
  });

  it('never overspend a shared balance: 50 concurrent requests over both, balance covering 10', async () => {
    const tenant = await createTenant(store, { orgRateLimit: 1000 });
    await loadTokenizer();
    const estimate = estimateOf({
      model: 'local/priced',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(estimate).toBeGreaterThan(200);
    await store.billing.addCredits({ orgId: tenant.orgId, amountMicros: estimate * 10, now: Date.now() });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        chat(gateways[index % 2] as GatewayProcess, tenant.headers, 'local/priced'),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 402)).toHaveLength(40);
    const balance = await store.billing.getBalance(tenant.orgId);
    expect(balance?.balanceMicros).toBeGreaterThanOrEqual(0);
    expect((balance?.availableMicros ?? -1) >= 0).toBe(true);
  });

  it('see a revocation on every instance at once when Redis broadcasts it', async () => {
    const tenant = await createTenant(store, { orgRateLimit: 1000 });
    await store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 100_000_000, now: Date.now() });
    for (const gateway of gateways) expect((await chat(gateway, tenant.headers)).status).toBe(200);
    await store.apiKeys.revoke(tenant.keyId);
    const publisher = new Redis(testRedisUrl);
    await publisher.publish(revocationChannel, tenant.keyId);
    await publisher.quit();
    const deadline = Date.now() + 5000;
    for (const gateway of gateways) {
      let status = 200;
      while (status === 200 && Date.now() < deadline) status = (await chat(gateway, tenant.headers)).status;
      expect(status).toBe(401);
    }
  });

  it('read completions written by the other instance (after it drains on SIGTERM and flushes its log)', async () => {
    const tenant = await createTenant(store, { orgRateLimit: 1000 });
    await store.billing.addCredits({ orgId: tenant.orgId, amountMicros: 100_000_000, now: Date.now() });
    const [first, second] = gateways as [GatewayProcess, GatewayProcess];
    const written = (await (await chat(first, tenant.headers)).json()) as { id: string };
    expect(await first.stop('SIGTERM')).toBe(0);
    const read = await fetch(`${second.url}/v1/chat/completions/${written.id}`, { headers: tenant.headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      id: written.id,
      object: 'chat.completion',
      model: 'local/echo',
      source: 'gateway',
    });
  });
});
