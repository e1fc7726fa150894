import { readFileSync } from 'node:fs';
import type { CatalogModel, Pricing } from '../config/catalog-model.js';
import type { ModelEntryConfig, ProviderConfig } from '../config/config.js';

export type { CatalogModel, Pricing } from '../config/catalog-model.js';

import { GatewayError } from '../errors/gateway-error.js';

/** Fallback `created` for entries that do not state one: the release date of this catalog. */
export const CATALOG_RELEASE_CREATED = 1764028800;

export interface PublicModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  slug: string;
  display_name: string;
  provider: string;
  context_window: number | null;
  max_output_tokens: number | null;
  pricing: Pricing;
  input_modalities: string[];
  output_modalities: string[];
  supported_parameters?: string[];
  supported_apis: string[];
}

const builtInCatalogUrl = new URL('../../catalog/models.json', import.meta.url);

export function readBuiltInCatalog(): ModelEntryConfig[] {
  return (JSON.parse(readFileSync(builtInCatalogUrl, 'utf8')) as { models: ModelEntryConfig[] }).models;
}

/** Normalization key of SPEC §5.2: lowercase, and `.` between two digits becomes `-`. */
export function normalizeModelKey(value: string): string {
  return value.toLowerCase().replace(/(?<=\d)\.(?=\d)/g, '-');
}

function namespaceOf(id: string): string {
  return id.slice(0, id.indexOf('/'));
}

function toCatalogModel(
  entry: ModelEntryConfig,
  providers: ReadonlyMap<string, ProviderConfig>,
): CatalogModel {
  const namespace = namespaceOf(entry.id);
  const slug = entry.id.slice(namespace.length + 1);
  const provider = entry.provider ?? (providers.has(namespace) ? namespace : 'openrouter');
  const providerType = providers.get(provider)?.type;
  return {
    id: entry.id,
    created: entry.created ?? CATALOG_RELEASE_CREATED,
    ownedBy: namespace,
    slug,
    displayName: entry.display_name ?? slug,
    provider,
    contextWindow: entry.context_window ?? null,
    maxOutputTokens: entry.max_output_tokens ?? null,
    pricing: {
      input: entry.pricing?.input ?? null,
      output: entry.pricing?.output ?? null,
      cache_read: entry.pricing?.cache_read ?? null,
      cache_write: entry.pricing?.cache_write ?? null,
      request: entry.pricing?.request ?? null,
      image: entry.pricing?.image ?? null,
    },
    inputModalities: entry.input_modalities ?? ['text'],
    outputModalities: entry.output_modalities ?? ['text'],
    supportedParameters: entry.supported_parameters,
    supportedApis: entry.supported_apis ?? ['chat', 'responses'],
    // OpenRouter names models by their full id; everyone else by the model part.
    upstreamModel: entry.upstream_model ?? (providerType === 'openrouter' ? entry.id : slug),
    aliases: entry.aliases ?? [],
    enabled: entry.enabled ?? true,
    timeouts: entry.timeouts ?? {},
  };
}

export function toPublicModel(model: CatalogModel): PublicModel {
  const out: PublicModel = {
    id: model.id,
    object: 'model',
    created: model.created,
    owned_by: model.ownedBy,
    slug: model.slug,
    display_name: model.displayName,
    provider: model.provider,
    context_window: model.contextWindow,
    max_output_tokens: model.maxOutputTokens,
    pricing: model.pricing,
    input_modalities: model.inputModalities,
    output_modalities: model.outputModalities,
    supported_apis: model.supportedApis,
  };
  if (model.supportedParameters) out.supported_parameters = model.supportedParameters;
  return out;
}

export class CatalogConflictError extends Error {
  override name = 'CatalogConflictError';
}

/**
 * The catalog: built-in entries, then config entries (same id overrides), then models listed or
 * discovered per provider. Lookups are by normalization key; two entries sharing a key is a
 * start-up error. Discovery replaces a provider's discovered entries as a whole.
 */
export class ModelCatalog {
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  private readonly preference: string[];
  private readonly hideUnkeyed: boolean;
  private readonly declared: CatalogModel[];
  private discovered = new Map<string, CatalogModel[]>();
  private byKey = new Map<string, CatalogModel>();
  private bySlug = new Map<string, CatalogModel[]>();
  private namespaces = new Set<string>();
  private sorted: CatalogModel[] = [];

  constructor(options: {
    builtIn: ModelEntryConfig[];
    configured: ModelEntryConfig[];
    providers: ProviderConfig[];
    providerPreference: string[];
    hideUnkeyed: boolean;
  }) {
    this.providers = new Map(options.providers.map((provider) => [provider.name, provider]));
    this.preference = [
      ...options.providerPreference,
      ...options.providers
        .map((provider) => provider.name)
        .filter((name) => !options.providerPreference.includes(name)),
    ];
    this.hideUnkeyed = options.hideUnkeyed;
    const entries = new Map<string, ModelEntryConfig>();
    for (const entry of options.builtIn) entries.set(entry.id, entry);
    for (const entry of options.configured) entries.set(entry.id, { ...entries.get(entry.id), ...entry });
    for (const provider of options.providers) {
      for (const name of provider.models) {
        const id = `${provider.name}/${name}`;
        if (!entries.has(id)) entries.set(id, { id, provider: provider.name, upstream_model: name });
      }
    }
    for (const entry of entries.values()) {
      const provider = entry.provider ?? namespaceOf(entry.id);
      if (entry.provider !== undefined && !this.providers.has(provider)) {
        throw new CatalogConflictError(`catalog: model '${entry.id}' names unknown provider '${provider}'`);
      }
    }
    this.declared = [...entries.values()].map((entry) => toCatalogModel(entry, this.providers));
    this.rebuild();
  }

  /** Replaces the models discovered from one provider's `GET /models`. */
  setDiscovered(providerName: string, upstreamNames: string[]): void {
    const known = new Set(this.declared.map((model) => model.id));
    const models = upstreamNames
      .map((name) => `${providerName}/${name}`)
      .filter((id) => !known.has(id))
      .map((id) =>
        toCatalogModel(
          { id, provider: providerName, upstream_model: id.slice(providerName.length + 1) },
          this.providers,
        ),
      );
    this.discovered.set(providerName, models);
    this.rebuild();
  }

  private rebuild(): void {
    const byKey = new Map<string, CatalogModel>();
    const bySlug = new Map<string, CatalogModel[]>();
    const namespaces = new Set<string>();
    const all = [...this.declared, ...[...this.discovered.values()].flat()].filter((model) => model.enabled);
    for (const model of all) {
      for (const name of [model.id, ...model.aliases]) {
        const key = normalizeModelKey(name);
        const existing = byKey.get(key);
        if (existing && existing !== model) {
          throw new CatalogConflictError(
            `catalog: '${name}' of '${model.id}' collides with '${existing.id}'`,
          );
        }
        byKey.set(key, model);
      }
      for (const name of [model.slug, ...model.aliases]) {
        const key = normalizeModelKey(name);
        const list = bySlug.get(key) ?? [];
        if (!list.includes(model)) list.push(model);
        bySlug.set(key, list);
      }
      namespaces.add(model.ownedBy);
    }
    this.byKey = byKey;
    this.bySlug = bySlug;
    this.namespaces = namespaces;
    this.sorted = all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Entries listed by `GET /v1/models`, sorted by id. */
  list(): CatalogModel[] {
    if (!this.hideUnkeyed) return this.sorted;
    return this.sorted.filter((model) => {
      const provider = this.providers.get(model.provider);
      return provider !== undefined && (provider.apiKey !== undefined || provider.isKeyless);
    });
  }

  /** Catalog id or alias lookup (`provider:model` ≡ `provider/model`), then bare names. Undefined if none. */
  find(name: string): CatalogModel | undefined {
    const separator = name.search(/[/:]/);
    if (separator > 0) {
      const namespace = name.slice(0, separator);
      const rest = name.slice(separator + 1);
      const hit = this.byKey.get(normalizeModelKey(`${namespace}/${rest}`));
      if (hit) return hit;
      if (this.providers.has(namespace) || this.namespaces.has(namespace.toLowerCase())) {
        return undefined;
      }
    }
    const direct = this.byKey.get(normalizeModelKey(name));
    if (direct) return direct;
    const candidates = this.bySlug.get(normalizeModelKey(name));
    if (!candidates || candidates.length === 0) return undefined;
    if (candidates.length === 1) return candidates[0];
    const rank = (model: CatalogModel) => {
      const index = this.preference.indexOf(model.provider);
      return index === -1 ? Number.MAX_SAFE_INTEGER : index;
    };
    return [...candidates].sort((a, b) => rank(a) - rank(b))[0];
  }

  /** Like `find`, but an unknown name is the spec's 404 `model_not_found`. */
  resolve(name: string, param = 'model'): CatalogModel {
    const model = this.find(name);
    if (!model) throw new GatewayError('model_not_found', { model: name }, { param });
    return model;
  }
}
