import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '#src/billing/prompt-tokens.js';
import type { Store } from '#src/store/repositories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';
import { createTenant } from '../support/tenants.js';

let gateway: TestGateway;
let isBillingDown = false;

// USD per token: 1 µ$ in, 2 µ$ out; max_tokens 100 makes every reservation ≥ 200 µ$.
const priced = {
  id: 'local/priced',
  provider: 'local',
  upstream_model: 'echo',
  max_output_tokens: 100,
  pricing: { input: 0.000001, output: 0.000002 },
};

beforeAll(async () => {
  gateway = await startTestGateway({
    file: { billing: { mode: 'prepaid' }, models: [priced], telemetry: { flushIntervalMs: 3_600_000 } },
    wrapStore: (store: Store): Store => ({
      ...store,
      billing: {
        ...store.billing,
        reserve: (input) =>
          isBillingDown ? Promise.reject(new Error('down')) : store.billing.reserve(input),
        // The in-memory ledger of the SQLite store reads an organization before its first reservation.
        ledgerSnapshot: (orgId, now) =>
          isBillingDown ? Promise.reject(new Error('down')) : store.billing.ledgerSnapshot(orgId, now),
      },
    }),
  });
});
afterAll(async () => gateway.close());

const request = { model: 'local/priced', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] };

async function chat(headers: Record<string, string>, body: Record<string, unknown> = request) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status >= 400) assertOpenAiSchema('ErrorResponse', json);
  return { status: response.status, body: json };
}

describe('billing pre-flight (SPEC §8)', () => {
  it('refuses an organization without a billing account in prepaid mode', async () => {
    const tenant = await createTenant(gateway.app.store);
    expect(await chat(tenant.headers)).toEqual({
      status: 402,
      body: {
        error: {
          message: 'Billing is not configured for this organization.',
          type: 'invalid_request_error',
          param: null,
          code: 'billing_not_configured',
        },
      },
    });
  });

  it('serves at most what the balance covers under 50 concurrent requests, and never goes below zero', async () => {
    const tenant = await createTenant(gateway.app.store);
    await loadTokenizer();
    const estimate = gateway.app.billing.estimate(request as never, [
      {
        model: gateway.app.catalog.resolve('local/priced'),
        provider: gateway.config.providers.find((p) => p.name === 'local') as never,
      },
    ]);
    await gateway.app.store.billing.addCredits({
      orgId: tenant.orgId,
      amountMicros: estimate * 10,
      now: Date.now(),
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => chat(tenant.headers)));
    const served = results.filter((result) => result.status === 200).length;
    expect(served).toBe(10);
    const refused = results.find((result) => result.status === 402);
    expect(refused?.body).toMatchObject({
      error: { code: 'insufficient_credits', type: 'invalid_request_error' },
    });
    expect((refused?.body as { error?: { message?: string } } | undefined)?.error?.message).toMatch(
      /^Insufficient credits: this request may cost up to \$\d+\.\d{4} but the available balance is \$\d+\.\d{4}\.$/,
    );
    await gateway.app.flushTelemetry();
    const balance = await gateway.app.store.billing.getBalance(tenant.orgId);
    expect(balance?.reservedMicros).toBe(0);
    expect(balance?.balanceMicros).toBeGreaterThanOrEqual(0);
    expect(balance?.balanceMicros).toBeLessThan(estimate * 10);
  });

  it('refuses a request that would exceed a budget, naming it', async () => {
    const tenant = await createTenant(gateway.app.store);
    await gateway.app.store.billing.addCredits({
      orgId: tenant.orgId,
      amountMicros: 10_000_000,
      now: Date.now(),
    });
    await gateway.app.store.billing.setBudget({
      scope: 'key',
      scopeId: tenant.keyId,
      period: 'day',
      limitMicros: 100,
      now: Date.now(),
    });
    gateway.app.billing.invalidateBudgets(tenant.orgId);
    expect((await chat(tenant.headers)).body).toEqual({
      error: {
        message: `Budget exceeded for key '${tenant.keyId}' (day limit $0.0001).`,
        type: 'invalid_request_error',
        param: null,
        code: 'budget_exceeded',
      },
    });
  });

  it('fails closed with 503 when the billing store is unreachable', async () => {
    const tenant = await createTenant(gateway.app.store);
    await gateway.app.store.billing.addCredits({
      orgId: tenant.orgId,
      amountMicros: 10_000_000,
      now: Date.now(),
    });
    isBillingDown = true;
    try {
      expect(await chat(tenant.headers)).toEqual({
        status: 503,
        body: {
          error: {
            message: 'Billing is temporarily unavailable.',
            type: 'api_error',
            param: null,
            code: 'billing_unavailable',
          },
        },
      });
    } finally {
      isBillingDown = false;
    }
  });

  it('settles the actual cost from usage, streams included', async () => {
    const tenant = await createTenant(gateway.app.store);
    await gateway.app.store.billing.addCredits({
      orgId: tenant.orgId,
      amountMicros: 1_000_000,
      now: Date.now(),
    });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: tenant.headers,
      body: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
    });
    const text = await response.text();
    const usageChunk = JSON.parse(
      text
        .split('\n\n')
        .filter((frame) => frame.startsWith('data: {'))
        .at(-1)
        ?.slice(6) as string,
    ) as { usage: { prompt_tokens: number; completion_tokens: number } };
    await gateway.app.flushTelemetry();
    const expected = usageChunk.usage.prompt_tokens * 1 + usageChunk.usage.completion_tokens * 2;
    const balance = await gateway.app.store.billing.getBalance(tenant.orgId);
    expect(balance).toMatchObject({ balanceMicros: 1_000_000 - expected, reservedMicros: 0 });
  });
});
