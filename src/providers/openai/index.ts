import { createOpenAiCompatibleProvider } from '../openai-compatible/index.js';

/** OpenAI itself: every OpenAI parameter passes as is (SPEC §4, column OpenAI). */
export const openAiProvider = createOpenAiCompatibleProvider('openai', 'openai');
