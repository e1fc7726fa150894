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
  const { reasoning_content, ...rest } = upstreamMessage;
  const message: AssistantMessage = {
    ...rest,
    role: 'assistant',
    content: typeof rest.content === 'string' ? rest.content : null,
    refusal: typeof rest.refusal === 'string' ? rest.refusal : null,
  };
  const reasoning = typeof rest.reasoning === 'string' ? rest.reasoning : reasoning_content;
  if (typeof reasoning === 'string' && reasoning.length > 0) message.reasoning = reasoning;
  else delete message.reasoning;
  if (!message.tool_calls || message.tool_calls.length === 0) delete message.tool_calls;
  return {
    upstreamId: completion?.id,
    systemFingerprint: completion?.system_fingerprint ?? undefined,
    message,
    finishReason: toFinishReason(choice?.finish_reason, message.tool_calls !== undefined),
    logprobs: choice?.logprobs ?? null,
    usage: completion?.usage ?? undefined,
  };
}
