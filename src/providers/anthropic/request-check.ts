import type { ChatCompletionRequest } from '../../api/wire/chat.js';
import { invalidValue, unsupportedParameter } from '../../errors/gateway-error.js';
import type { UpstreamTarget } from '../provider.js';
import { jsonResponseMode } from './json-response.js';
import { noMessageLeft, toAnthropicMessages } from './messages.js';
import { isParameterSent } from './request.js';
import { thinkingBudgetFor } from './thinking.js';

/**
 * Runs the message translation once so every part-level 400 (`file_id`, unsupported image or file
 * types, tool arguments that are not a JSON object) surfaces before billing, with its param path.
 */
function checkMessages(request: ChatCompletionRequest): void {
  request.messages.forEach((message, index) => {
    if (message.role === 'function') {
      throw unsupportedParameter(
        `messages[${index}].role`,
        "Unsupported parameter: the 'function' role is not supported with this model.",
      );
    }
  });
  if (toAnthropicMessages(request.messages).messages.length === 0) throw noMessageLeft();
}

/**
 * The Anthropic column of SPEC §4: what cannot be mapped is a 400 before billing, for every fallback
 * candidate. A forced `json_response` tool is also refused next to extended thinking, which Anthropic
 * allows only with `tool_choice` auto or none.
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking
 */
export function checkAnthropicRequest(request: ChatCompletionRequest, target: UpstreamTarget): void {
  for (const name of ['functions', 'function_call', 'web_search_options'] as const) {
    if (request[name] !== undefined) throw unsupportedParameter(name);
  }
  request.tools?.forEach((tool, index) => {
    if (tool.type !== 'function') {
      throw invalidValue(
        `tools[${index}]`,
        `Anthropic models accept only function tools, not '${tool.type}'`,
      );
    }
  });
  const toolChoice = request.tool_choice as unknown;
  if (
    typeof toolChoice === 'object' &&
    toolChoice !== null &&
    (toolChoice as { type?: unknown }).type !== 'function'
  ) {
    throw invalidValue('tool_choice', 'Anthropic models accept only function tool choices');
  }
  if (Array.isArray(request.modalities) && request.modalities.includes('audio')) {
    throw invalidValue('modalities', 'Anthropic models produce text only');
  }
  if (request.audio !== undefined && request.audio !== null) {
    throw invalidValue('audio', 'Anthropic models produce text only');
  }
  if (
    request.temperature !== undefined &&
    request.temperature > 1 &&
    isParameterSent(target, 'temperature')
  ) {
    throw invalidValue('temperature', 'must be between 0 and 1 for Anthropic models');
  }
  if (jsonResponseMode(request, target) === 'tool') {
    if ((request.tools ?? []).length > 0) {
      throw unsupportedParameter(
        'response_format',
        'response_format json_object or json_schema cannot be combined with tools on this model.',
      );
    }
    if (thinkingBudgetFor(request, target) !== undefined) {
      throw unsupportedParameter(
        'response_format',
        'response_format json_object or json_schema cannot be combined with reasoning on this model.',
      );
    }
  }
  checkMessages(request);
}
