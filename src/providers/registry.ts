import type { ProviderType } from '../config/config.js';
import { anthropicProvider } from './anthropic/index.js';
import { geminiProvider } from './gemini/index.js';
import { openAiProvider } from './openai/index.js';
import { openAiCompatibleProvider } from './openai-compatible/index.js';
import { openRouterProvider } from './openrouter/index.js';
import type { Provider } from './provider.js';

/** One line per provider type. */
export const providerRegistry: Record<ProviderType, Provider> = {
  openai: openAiProvider,
  anthropic: anthropicProvider,
  gemini: geminiProvider,
  openrouter: openRouterProvider,
  'openai-compatible': openAiCompatibleProvider,
};
