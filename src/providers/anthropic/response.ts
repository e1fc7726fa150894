import type { AssistantMessage, ReasoningDetail, ToolCall } from '../../api/wire/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { ProviderCompletion, TranslationContext } from '../provider.js';
import { jsonResponseMode, jsonResponseToolName } from './json-response.js';
import { mapAnthropicStopReason } from './stop-reason.js';
import { usageFromAnthropic } from './usage.js';
import type { AnthropicResponse } from './wire.js';

function toArguments(input: unknown): string {
  return JSON.stringify(input ?? {});
}

/**
 * A Messages API answer as a chat completion: text blocks → `content`, `tool_use` → `tool_calls`
 * (the `toolu_…` id kept as the call id), thinking → `reasoning` plus `reasoning_details` with its
 * signature, redacted thinking → `reasoning.encrypted`; the synthetic `json_response` tool's input is
 * the content. Blocks of other types (server tools, citations) are not part of the chat shape.
 */
export function parseAnthropicResponse(body: unknown, context: TranslationContext): ProviderCompletion {
  const response = body as AnthropicResponse | null;
  if (response === null || typeof response !== 'object' || !Array.isArray(response.content)) {
    throw new GatewayError(
      'upstream_invalid_response',
      { provider: context.target.provider.name },
      { shouldFallBack: true },
    );
  }
  const isJsonResponse = jsonResponseMode(context.request, context.target) === 'tool';
  let content = '';
  let hasContent = false;
  let reasoning = '';
  const reasoningDetails: ReasoningDetail[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of response.content) {
    switch (block.type) {
      case 'text':
        content += String(block.text ?? '');
        hasContent = true;
        break;
      case 'thinking': {
        const text = String(block.thinking ?? '');
        reasoning += text;
        reasoningDetails.push({
          type: 'reasoning.text',
          text,
          signature: typeof block.signature === 'string' ? block.signature : null,
        });
        break;
      }
      case 'redacted_thinking':
        reasoningDetails.push({ type: 'reasoning.encrypted', data: String(block.data ?? '') });
        break;
      case 'tool_use':
        if (isJsonResponse && block.name === jsonResponseToolName) {
          content += toArguments(block.input);
          hasContent = true;
        } else {
          toolCalls.push({
            id: String(block.id ?? ''),
            type: 'function',
            function: { name: String(block.name ?? ''), arguments: toArguments(block.input) },
          });
        }
        break;
      default:
        break;
    }
  }
  const message: AssistantMessage = {
    role: 'assistant',
    content: hasContent ? content : null,
    refusal: null,
  };
  if (reasoning.length > 0) message.reasoning = reasoning;
  if (reasoningDetails.length > 0) message.reasoning_details = reasoningDetails;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    upstreamId: response.id,
    message,
    finishReason: mapAnthropicStopReason(response.stop_reason, {
      isJsonResponse,
      hasToolCalls: toolCalls.length > 0,
    }),
    logprobs: null,
    usage: response.usage ? usageFromAnthropic(response.usage) : undefined,
  };
}
