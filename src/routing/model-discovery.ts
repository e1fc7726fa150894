import type { ProviderConfig, ProviderType } from '../config/config.js';
import type { Provider } from '../providers/provider.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import type { ModelCatalog } from './model-catalog.js';

export interface DiscoveryDeps {
  catalog: ModelCatalog;
  providers: Partial<Record<ProviderType, Provider>>;
  upstream: UpstreamClient;
  onError(provider: string, error: unknown): void;
}

/** Imports one provider's `GET /models` into the catalog; a failure keeps what was known. */
export async function discoverModels(deps: DiscoveryDeps, provider: ProviderConfig): Promise<void> {
  const translator = deps.providers[provider.type];
  if (!translator?.buildListModelsRequest || !translator.parseModelList) return;
  const controller = new AbortController();
  const timeouts = {
    connectMs: 5000,
    firstByteMs: 10_000,
    idleMs: 10_000,
    totalMs: 15_000,
    ...provider.timeouts,
  };
  const timer = setTimeout(() => controller.abort(), timeouts.totalMs);
  const options = { providerName: provider.name, timeouts, signal: controller.signal };
  try {
    const response = await deps.upstream.send(translator.buildListModelsRequest(provider), options);
    const bytes = await deps.upstream.readBody(response.body, 8 * 1024 * 1024, options);
    if (response.status >= 400) throw new Error(`GET /models answered ${response.status}`);
    deps.catalog.setDiscovered(provider.name, translator.parseModelList(JSON.parse(bytes.toString('utf8'))));
  } catch (error) {
    deps.onError(provider.name, error);
  } finally {
    clearTimeout(timer);
  }
}

/** Discovers at start, then every `discoverIntervalMs`; returns a function that stops the timers. */
export async function startModelDiscovery(
  deps: DiscoveryDeps,
  providers: ProviderConfig[],
): Promise<() => void> {
  const discovering = providers.filter((provider) => provider.discover);
  await Promise.all(discovering.map((provider) => discoverModels(deps, provider)));
  const timers = discovering.map((provider) => {
    const timer = setInterval(() => void discoverModels(deps, provider), provider.discoverIntervalMs);
    timer.unref();
    return timer;
  });
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
