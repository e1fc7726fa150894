import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '#src/config/config.js';
import { FakeUpstream } from '#src/fake-upstream/fake-upstream.js';
import { providerRegistry } from '#src/providers/registry.js';
import { ModelCatalog } from '#src/routing/model-catalog.js';
import { startModelDiscovery } from '#src/routing/model-discovery.js';
import { UpstreamClient } from '#src/upstream/upstream-client.js';

let fake: FakeUpstream;
const upstream = new UpstreamClient();
beforeAll(async () => {
  fake = await FakeUpstream.start();
});
afterAll(async () => {
  await upstream.close();
  await fake.close();
});

describe('model discovery (discover: true)', () => {
  it('imports GET /models at start, refreshes periodically, and keeps what it knew when the upstream fails', async () => {
    const provider: ProviderConfig = {
      name: 'vllm',
      type: 'openai-compatible',
      baseUrl: fake.url,
      apiKey: 'vllm-key',
      isKeyless: false,
      models: [],
      discover: true,
      discoverIntervalMs: 1000,
      timeouts: {},
    };
    const catalog = new ModelCatalog({
      builtIn: [],
      configured: [],
      providers: [provider],
      providerPreference: [],
      hideUnkeyed: false,
    });
    const errors: string[] = [];
    const firstList = once(fake, 'models');
    const stop = await startModelDiscovery(
      { catalog, providers: providerRegistry, upstream, onError: (name) => errors.push(name) },
      [provider],
    );
    const [headers] = await firstList;
    expect((headers as Record<string, string>).authorization).toBe('Bearer vllm-key');
    expect(catalog.list().map((model) => model.id)).toEqual(['vllm/echo', 'vllm/tools']);

    fake.modelList = ['qwen'];
    await once(fake, 'models');
    await waitFor(() => catalog.find('vllm/qwen') !== undefined);
    expect(catalog.list().map((model) => model.id)).toEqual(['vllm/qwen']);

    fake.modelList = undefined;
    await once(fake, 'models');
    await waitFor(() => errors.length > 0);
    expect(errors).toEqual(['vllm']);
    expect(catalog.list().map((model) => model.id)).toEqual(['vllm/qwen']);
    stop();
  });
});

/** Resolves once `predicate` holds, checking after each turn of the event loop (bounded). */
async function waitFor(predicate: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !predicate(); turn++)
    await new Promise((resolve) => setImmediate(resolve));
  expect(predicate()).toBe(true);
}
