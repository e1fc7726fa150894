import { createOpenAiCompatibleProvider } from '../openai-compatible/index.js';

/** OpenRouter: the Compat family, but its own `reasoning` object passes through (SPEC §4). */
export const openRouterProvider = createOpenAiCompatibleProvider('openrouter', 'openrouter');
