import type { Provider } from '../provider.js';
import { parseAnthropicError } from './errors.js';
import { buildAnthropicRequest } from './request.js';
import { checkAnthropicRequest } from './request-check.js';
import { parseAnthropicResponse } from './response.js';
import { createAnthropicStreamMapper } from './stream.js';

/**
 * Anthropic's Messages API (`anthropic-version: 2023-06-01`), translated per the Anthropic column of
 * SPEC §4. Model discovery is not offered: SPEC §13.1 imports only OpenAI-compatible model lists.
 */
export const anthropicProvider: Provider = {
  type: 'anthropic',
  capabilities: { tools: true, reasoning: true, images: true, discovery: false },
  checkRequest: checkAnthropicRequest,
  buildRequest: buildAnthropicRequest,
  parseResponse: parseAnthropicResponse,
  createStreamMapper: createAnthropicStreamMapper,
  parseError: parseAnthropicError,
};
