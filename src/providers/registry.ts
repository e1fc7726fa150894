import type { ProviderType } from '../config/config.js';
import { anthropicProvider } from './anthropic/index.js';
import { openAiProvider } from './openai/index.js';
import { openAiCompatibleProvider } from './openai-compatible/index.js';
import { openRouterProvider } from './openrouter/index.js';
import type { Provider } from './provider.js';

/** One line per provider type. Types without a translation yet are absent and answer as unknown. */
export const providerRegistry: Partial<Record<ProviderType, Provider>> = {
  openai: openAiProvider,
  anthropic: anthropicProvider,
  openrouter: openRouterProvider,
  'openai-compatible': openAiCompatibleProvider,
};
