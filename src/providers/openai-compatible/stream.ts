import type { ChunkDelta } from '../../api/wire/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { SseEvent } from '../../stream/sse-decoder.js';
import type { StreamPart } from '../../stream/stream-part.js';
import type { StreamMapper, TranslationContext } from '../provider.js';
import { parseOpenAiCompatibleStreamError } from './errors.js';
import { toFinishReason } from './response.js';
import type { OpenAiCompatibleChunk } from './wire.js';

/**
 * Maps OpenAI-style chunks. Each event is parsed once; the delta object is forwarded as the upstream
 * wrote it except that `role` is dropped (the writer adds it once) and `reasoning_content` is spelled
 * `reasoning`.
 */
export function createOpenAiCompatibleStreamMapper(context: TranslationContext): StreamMapper {
  const providerName = context.target.provider.name;
  let hasMetadata = false;
  let hasToolCalls = false;
  return {
    map(event: SseEvent): StreamPart[] {
      let chunk: OpenAiCompatibleChunk;
      try {
        chunk = JSON.parse(event.data) as OpenAiCompatibleChunk;
      } catch {
        return [
          { type: 'error', error: new GatewayError('upstream_invalid_response', { provider: providerName }) },
        ];
      }
      if (chunk === null || typeof chunk !== 'object') {
        return [
          { type: 'error', error: new GatewayError('upstream_invalid_response', { provider: providerName }) },
        ];
      }
      if (chunk.error)
        return [{ type: 'error', error: parseOpenAiCompatibleStreamError(chunk.error, providerName) }];
      const parts: StreamPart[] = [];
      if (!hasMetadata && (chunk.id || chunk.system_fingerprint)) {
        hasMetadata = true;
        parts.push({
          type: 'metadata',
          upstreamId: chunk.id,
          systemFingerprint: chunk.system_fingerprint ?? undefined,
        });
      }
      const choice = chunk.choices?.[0];
      if (choice) {
        const upstreamDelta = choice.delta;
        if (upstreamDelta) {
          const { role: _role, reasoning_content, ...delta } = upstreamDelta;
          const out: ChunkDelta = delta;
          if (
            typeof reasoning_content === 'string' &&
            reasoning_content.length > 0 &&
            out.reasoning === undefined
          ) {
            out.reasoning = reasoning_content;
          }
          if (out.content === null) delete out.content;
          if (out.refusal === null) delete out.refusal;
          if (typeof out.reasoning !== 'string' || out.reasoning.length === 0) delete out.reasoning;
          if (out.tool_calls && out.tool_calls.length > 0) hasToolCalls = true;
          else delete out.tool_calls;
          const hasLogprobs = choice.logprobs !== undefined && choice.logprobs !== null;
          if (Object.keys(out).length > 0 || hasLogprobs) {
            parts.push(
              hasLogprobs
                ? { type: 'delta', delta: out, logprobs: choice.logprobs }
                : { type: 'delta', delta: out },
            );
          }
        }
        if (choice.finish_reason) {
          parts.push({ type: 'finish', finishReason: toFinishReason(choice.finish_reason, hasToolCalls) });
        }
      }
      if (chunk.usage) parts.push({ type: 'usage', usage: chunk.usage });
      return parts;
    },
    end: () => [],
  };
}
