import type { ChatCompletionRequest } from '../../api/wire/chat.js';
import type { ProviderConfig, ProviderType } from '../../config/config.js';
import type { Provider, UpstreamRequest, UpstreamTarget } from '../provider.js';
import { parseOpenAiCompatibleError } from './errors.js';
import { buildOpenAiCompatibleRequest } from './request.js';
import { parseOpenAiCompatibleResponse } from './response.js';
import { createOpenAiCompatibleStreamMapper } from './stream.js';
import type { OpenAiDialect } from './wire.js';

function buildListModelsRequest(provider: ProviderConfig): UpstreamRequest {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (provider.apiKey) headers.authorization = `Bearer ${provider.apiKey}`;
  return { method: 'GET', url: `${provider.baseUrl}/models`, headers };
}

function parseModelList(body: unknown): string[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return [];
  return data
    .map((item) => (item as { id?: unknown } | null)?.id)
    .filter((id): id is string => typeof id === 'string' && id.length > 0);
}

/**
 * The OpenAI-style base every dialect builds on. A dialect changes only what SPEC §4 says differs
 * between the OpenAI, OpenRouter and Compat families.
 */
export function createOpenAiCompatibleProvider(type: ProviderType, dialect: OpenAiDialect): Provider {
  return {
    type,
    capabilities: { tools: true, reasoning: true, images: true, discovery: true },
    checkRequest(_request: ChatCompletionRequest, _target: UpstreamTarget) {
      // Every OpenAI-family parameter is passed or dropped; none is rejected here (SPEC §4).
    },
    buildRequest: (request, target) => buildOpenAiCompatibleRequest(request, target, dialect),
    parseResponse: parseOpenAiCompatibleResponse,
    createStreamMapper: createOpenAiCompatibleStreamMapper,
    parseError: parseOpenAiCompatibleError,
    buildListModelsRequest,
    parseModelList,
  };
}

export const openAiCompatibleProvider = createOpenAiCompatibleProvider('openai-compatible', 'compat');
