import type { ChatCompletionRequest } from '../../api/wire/chat.js';
import { invalidValue, unsupportedParameter } from '../../errors/gateway-error.js';
import type { UpstreamTarget } from '../provider.js';
import { toGeminiPrompt } from './contents.js';

/**
 * The Gemini rejections of SPEC §4, run for every fallback candidate before billing, so that what
 * the translation cannot express is a 400 here rather than an upstream error later. The messages are
 * translated once to find their errors (https media, file ids, unknown tool call ids, arguments that
 * are no JSON object); buildRequest translates them again per attempt.
 */
export function checkGeminiRequest(request: ChatCompletionRequest, target: UpstreamTarget): void {
  if (request.functions !== undefined) throw unsupportedParameter('functions');
  if (request.function_call !== undefined) throw unsupportedParameter('function_call');
  if (request.web_search_options !== undefined) throw unsupportedParameter('web_search_options');
  (request.tools ?? []).forEach((tool, index) => {
    if (tool.type !== 'function') {
      throw invalidValue(`tools[${index}].type`, `'${tool.type}' tools are not supported with this model`);
    }
  });
  if (Array.isArray(request.modalities) && request.modalities.includes('audio')) {
    throw invalidValue('modalities', 'audio output is not supported with this model');
  }
  if (request.audio !== undefined && request.audio !== null) {
    throw invalidValue('audio', 'audio output is not supported with this model');
  }
  request.messages.forEach((message, index) => {
    if (message.role === 'function') {
      throw unsupportedParameter(
        `messages[${index}].role`,
        "The 'function' role is not supported with this model; use 'tool' messages.",
      );
    }
  });
  toGeminiPrompt(request.messages, target.model.upstreamModel);
}
