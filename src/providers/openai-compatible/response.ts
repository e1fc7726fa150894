import type { AssistantMessage, FinishReason } from '../../api/wire/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { ProviderCompletion, TranslationContext } from '../provider.js';
import type { OpenAiCompatibleCompletion } from './wire.js';

const finishReasons = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);

/** Unknown upstream finish reasons (`eos`, `end_turn` from some servers) read as `stop`. */
export function toFinishReason(value: unknown, hasToolCalls: boolean): FinishReason {
  if (typeof value === 'string' && finishReasons.has(value)) return value as FinishReason;
  return hasToolCalls ? 'tool_calls' : 'stop';
}

export function parseOpenAiCompatibleResponse(
  body: unknown,
  context: TranslationContext,
): ProviderCompletion {
  const completion = body as OpenAiCompatibleCompletion | null;
  const choice = completion?.choices?.[0];
  const upstreamMessage = choice?.message;
  if (!upstreamMessage || typeof upstreamMessage !== 'object') {
    throw new GatewayError(
      'upstream_invalid_response',
      { provider: context.target.provider.name },
      { shouldFallBack: true },
    );
  }
  // A copy with fields assigned, not `{ ...rest, role, … }`: V8 redefines a field the spread already
  // copied through a slow runtime path, and the upstream message always has `role` and `content`.
  const message = { ...upstreamMessage } as AssistantMessage & { reasoning_content?: string | null };
  message.role = 'assistant';
  message.content = typeof message.content === 'string' ? message.content : null;
  message.refusal = typeof message.refusal === 'string' ? message.refusal : null;
  const reasoning = typeof message.reasoning === 'string' ? message.reasoning : message.reasoning_content;
  if (message.reasoning_content !== undefined) delete message.reasoning_content;
  if (typeof reasoning === 'string' && reasoning.length > 0) message.reasoning = reasoning;
  else if (message.reasoning !== undefined) delete message.reasoning;
  const toolCalls = message.tool_calls;
  if (toolCalls !== undefined && (!toolCalls || toolCalls.length === 0)) delete message.tool_calls;
  return {
    upstreamId: completion?.id,
    systemFingerprint: completion?.system_fingerprint ?? undefined,
    message,
    finishReason: toFinishReason(choice?.finish_reason, message.tool_calls !== undefined),
    logprobs: choice?.logprobs ?? null,
    usage: completion?.usage ?? undefined,
  };
}
