import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '#src/config/config.js';
import { GatewayError } from '#src/errors/gateway-error.js';
import {
  CatalogConflictError,
  ModelCatalog,
  normalizeModelKey,
  readBuiltInCatalog,
  toPublicModel,
} from '#src/routing/model-catalog.js';

function provider(
  name: string,
  type: ProviderConfig['type'],
  extra: Partial<ProviderConfig> = {},
): ProviderConfig {
  return {
    name,
    type,
    baseUrl: `http://127.0.0.1:1/${name}`,
    apiKey: 'k',
    isKeyless: false,
    models: [],
    discover: false,
    discoverIntervalMs: 600_000,
    timeouts: {},
    ...extra,
  };
}

const builtInProviders = [
  provider('openai', 'openai'),
  provider('anthropic', 'anthropic'),
  provider('google', 'gemini'),
  provider('openrouter', 'openrouter'),
];

function catalogWith(extra: Partial<ConstructorParameters<typeof ModelCatalog>[0]> = {}) {
  return new ModelCatalog({
    builtIn: readBuiltInCatalog(),
    configured: [],
    providers: [...builtInProviders, provider('ollama', 'openai-compatible', { models: ['llama3.1:8b'] })],
    providerPreference: ['openai', 'anthropic', 'google', 'openrouter'],
    hideUnkeyed: false,
    ...extra,
  });
}

describe('slug grammar (SPEC §5.2)', () => {
  const catalog = catalogWith();

  it('treats provider/model and provider:model alike', () => {
    expect(catalog.resolve('openai/gpt-4o-mini').id).toBe('openai/gpt-4o-mini');
    expect(catalog.resolve('openai:gpt-4o-mini').id).toBe('openai/gpt-4o-mini');
  });

  it('normalizes case and dots between digits', () => {
    expect(normalizeModelKey('Claude-Haiku-4.5')).toBe('claude-haiku-4-5');
    expect(catalog.resolve('anthropic/claude-haiku-4.5').id).toBe('anthropic/claude-haiku-4-5');
    expect(catalog.resolve('OPENAI/GPT-4O-MINI').id).toBe('openai/gpt-4o-mini');
  });

  it('splits at the first separator and keeps the rest verbatim', () => {
    const model = catalog.resolve('ollama:llama3.1:8b');
    expect(model.id).toBe('ollama/llama3.1:8b');
    expect(model.upstreamModel).toBe('llama3.1:8b');
  });

  it('resolves bare names by slug', () => {
    expect(catalog.resolve('gpt-4o-mini').id).toBe('openai/gpt-4o-mini');
    expect(catalog.resolve('grok-4').id).toBe('x-ai/grok-4');
  });

  it('breaks bare-name ties by provider preference', () => {
    const tied = catalogWith({
      configured: [{ id: 'openrouter/gpt-4o-mini', provider: 'openrouter' }],
    });
    expect(tied.resolve('gpt-4o-mini').provider).toBe('openai');
    const reversed = catalogWith({
      configured: [{ id: 'openrouter/gpt-4o-mini', provider: 'openrouter' }],
      providerPreference: ['openrouter', 'openai'],
    });
    expect(reversed.resolve('gpt-4o-mini').provider).toBe('openrouter');
  });

  it('does not fall back to a bare name when the namespace is known', () => {
    expect(catalog.find('openai/grok-4')).toBeUndefined();
  });

  it('answers unknown names with the exact 404', () => {
    try {
      catalog.resolve('openai/gpt-9');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      const envelope = (error as GatewayError).toEnvelope();
      expect((error as GatewayError).status).toBe(404);
      expect(envelope).toEqual({
        error: {
          message: "No model found with id 'openai/gpt-9'.",
          type: 'not_found_error',
          param: 'model',
          code: 'model_not_found',
        },
      });
    }
  });

  it('serves OpenRouter-hosted ids under their full id upstream', () => {
    const model = catalog.resolve('x-ai/grok-4');
    expect(model.provider).toBe('openrouter');
    expect(model.upstreamModel).toBe('x-ai/grok-4');
  });

  it('rejects two entries with one normalization key at start-up', () => {
    expect(() =>
      catalogWith({ configured: [{ id: 'openai/gpt-4.1-x' }, { id: 'openai/gpt-4-1-x' }] }),
    ).toThrow(CatalogConflictError);
  });

  it('lists enabled entries sorted by id, config overriding built-ins', () => {
    const configured = catalogWith({
      configured: [
        { id: 'openai/gpt-4o', display_name: 'Renamed' },
        { id: 'openai/gpt-4.1', enabled: false },
      ],
    });
    const ids = configured.list().map((model) => model.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).not.toContain('openai/gpt-4.1');
    expect(configured.resolve('openai/gpt-4o').displayName).toBe('Renamed');
  });

  it('hides unkeyed providers only when asked', () => {
    const providers = [provider('openai', 'openai', { apiKey: undefined }), ...builtInProviders.slice(1)];
    const shown = catalogWith({ providers });
    expect(shown.list().some((model) => model.provider === 'openai')).toBe(true);
    const hidden = catalogWith({ providers, hideUnkeyed: true });
    expect(hidden.list().some((model) => model.provider === 'openai')).toBe(false);
  });

  it('replaces discovered models as a whole', () => {
    const discovering = catalogWith();
    discovering.setDiscovered('ollama', ['qwen2.5', 'mistral']);
    expect(discovering.find('ollama/qwen2.5')?.upstreamModel).toBe('qwen2.5');
    discovering.setDiscovered('ollama', ['mistral']);
    expect(discovering.find('ollama/qwen2.5')).toBeUndefined();
    expect(discovering.find('ollama/mistral')?.pricing.input).toBeNull();
  });

  it('exposes the public shape without config-only fields', () => {
    const model = toPublicModel(catalog.resolve('openai/gpt-4o-mini'));
    expect(Object.keys(model).sort()).toEqual(
      [
        'context_window',
        'created',
        'display_name',
        'id',
        'input_modalities',
        'max_output_tokens',
        'object',
        'output_modalities',
        'owned_by',
        'pricing',
        'provider',
        'slug',
        'supported_apis',
      ].sort(),
    );
    expect(model.pricing).toEqual({
      input: 1.5e-7,
      output: 6e-7,
      cache_read: 7.5e-8,
      cache_write: null,
      request: 0,
      image: 0,
    });
  });
});
