import type { Provider } from '../provider.js';
import { checkGeminiRequest } from './check.js';
import { parseGeminiError } from './errors.js';
import { buildGeminiRequest } from './request.js';
import { parseGeminiResponse } from './response.js';
import { createGeminiStreamMapper } from './stream.js';

/**
 * Google Gemini through the Gemini API (`generativelanguage.googleapis.com`, version v1beta):
 * `generateContent` and `streamGenerateContent?alt=sse`, translated both ways (SPEC §4, Gemini
 * column). See docs/providers/gemini.md.
 */
export const geminiProvider: Provider = {
  type: 'gemini',
  capabilities: { tools: true, reasoning: true, images: true, discovery: false },
  checkRequest: checkGeminiRequest,
  buildRequest: buildGeminiRequest,
  parseResponse: parseGeminiResponse,
  createStreamMapper: createGeminiStreamMapper,
  parseError: parseGeminiError,
};
