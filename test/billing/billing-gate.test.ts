import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingGate } from '#src/billing/billing-gate.js';
import { LocalLedger } from '#src/billing/local-ledger.js';
import { isTokenizerLoaded, promptTokenBound } from '#src/billing/prompt-tokens.js';
import { systemClock } from '#src/clock.js';
import type { UpstreamTarget } from '#src/providers/provider.js';
import { ModelCatalog } from '#src/routing/model-catalog.js';
import type { Store } from '#src/store/repositories.js';
import { dialects, type TestDatabase } from '../store/store-dialects.js';

const sqlite = dialects.find((dialect) => dialect.name === 'sqlite');
if (!sqlite) throw new Error('no SQLite dialect');

let database: TestDatabase;
let store: Store;
let gate: BillingGate;
let counter = 0;

const catalog = new ModelCatalog({
  builtIn: [],
  configured: [
    {
      id: 'local/priced',
      upstream_model: 'echo',
      max_output_tokens: 100,
      pricing: { input: 0.000001, output: 0.000002 },
    },
  ],
  providers: [],
  providerPreference: [],
  hideUnkeyed: false,
});
const candidates = [
  { model: catalog.resolve('local/priced'), provider: undefined as never },
] as UpstreamTarget[];
// Multi-byte text: its UTF-8 length (the bound) is well above its o200k token count.
const request = {
  model: 'local/priced',
  max_tokens: 10,
  messages: [{ role: 'user' as const, content: 'Grüße aus München, schönes Wetter heute! '.repeat(20) }],
};

beforeAll(async () => {
  database = await sqlite.createDatabase();
  store = await database.open();
  gate = new BillingGate({
    ledger: new LocalLedger({ billing: store.billing, clock: systemClock }),
    budgets: store.billing,
    mode: 'prepaid',
    clock: systemClock,
    newReservationId: () => `rsv_${++counter}`,
  });
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

async function tenantWith(creditMicros: number) {
  counter += 1;
  const { organization, defaultProject } = await store.organizations.create({ name: `org-${counter}` });
  await store.billing.addCredits({ orgId: organization.id, amountMicros: creditMicros, now: Date.now() });
  return { orgId: organization.id, projectId: defaultProject.id, keyId: `key_${counter}`, isInternal: false };
}

describe('BillingGate reservation amounts', () => {
  it('holds the tokenizer-free bound, without loading the tokenizer, when far from every limit', async () => {
    const bound = gate.estimate(request, candidates, promptTokenBound(request));
    const tenant = await tenantWith(bound * 1_000);
    const reservation = await gate.reserve(tenant, request, candidates);
    expect(reservation?.amountMicros).toBe(bound);
    expect(isTokenizerLoaded()).toBe(false);
  });

  it('counts the prompt with the o200k tokenizer near an edge, where the exact amount decides', async () => {
    const bound = gate.estimate(request, candidates, promptTokenBound(request));
    const tenant = await tenantWith(bound * 10);
    const reservation = await gate.reserve(tenant, request, candidates);
    expect(isTokenizerLoaded()).toBe(true);
    const exact = gate.estimate(request, candidates);
    expect(exact).toBeLessThan(bound);
    expect(reservation?.amountMicros).toBe(exact);
  });
});
