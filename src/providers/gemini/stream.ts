import type { ChunkDelta } from '../../api/wire/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { SseEvent } from '../../stream/sse-decoder.js';
import type { StreamPart } from '../../stream/stream-part.js';
import type { StreamMapper, TranslationContext } from '../provider.js';
import { parseGeminiStreamError } from './errors.js';
import {
  geminiToolCallId,
  mapGeminiFinishReason,
  partsOf,
  reasoningDetailOf,
  toGeminiUsage,
  toToolCall,
} from './response.js';
import type { GeminiResponse } from './wire.js';

/**
 * Maps `streamGenerateContent?alt=sse` events. Each event is a whole `GenerateContentResponse`,
 * parsed once. Gemini sends a function call whole in one event, so each becomes one tool-call delta
 * with id, name and full arguments at the next index. Every event repeats the running
 * `usageMetadata`; the writer keeps the last. Errors after the first byte arrive as
 * `data: {"error":{…}}`.
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
export function createGeminiStreamMapper(context: TranslationContext): StreamMapper {
  const providerName = context.target.provider.name;
  let responseId: string | undefined;
  let toolCallCount = 0;
  let detailCount = 0;
  let hasFinished = false;
  const invalid = (): StreamPart[] => [
    { type: 'error', error: new GatewayError('upstream_invalid_response', { provider: providerName }) },
  ];
  return {
    map(event: SseEvent): StreamPart[] {
      let chunk: GeminiResponse;
      try {
        chunk = JSON.parse(event.data) as GeminiResponse;
      } catch {
        return invalid();
      }
      if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) return invalid();
      if (chunk.error) return [{ type: 'error', error: parseGeminiStreamError(chunk.error, providerName) }];
      const parts: StreamPart[] = [];
      if (responseId === undefined && chunk.responseId) {
        responseId = chunk.responseId;
        parts.push({ type: 'metadata', upstreamId: responseId });
      }
      const candidate = chunk.candidates?.[0];
      for (const part of partsOf(candidate)) {
        const delta: ChunkDelta = {};
        let toolCallId: string | undefined;
        if (part.thought === true) {
          if (part.text) delta.reasoning = part.text;
        } else if (part.functionCall) {
          toolCallId = geminiToolCallId(responseId, toolCallCount, part.functionCall);
          const call = toToolCall(part.functionCall, toolCallId);
          delta.tool_calls = [
            { index: toolCallCount, id: toolCallId, type: 'function', function: call.function },
          ];
          toolCallCount++;
        } else if (part.text) {
          delta.content = part.text;
        }
        const detail = reasoningDetailOf(part, toolCallId, detailCount);
        if (detail) {
          delta.reasoning_details = [detail];
          detailCount++;
        }
        if (Object.keys(delta).length > 0) parts.push({ type: 'delta', delta });
      }
      const isPromptBlocked = !candidate && chunk.promptFeedback?.blockReason !== undefined;
      if (!hasFinished && (candidate?.finishReason || isPromptBlocked)) {
        hasFinished = true;
        parts.push({
          type: 'finish',
          finishReason: candidate
            ? mapGeminiFinishReason(candidate.finishReason, toolCallCount > 0)
            : 'content_filter',
        });
      }
      if (chunk.usageMetadata) parts.push({ type: 'usage', usage: toGeminiUsage(chunk.usageMetadata) });
      return parts;
    },
    end: () => [],
  };
}
