import { createHash } from 'node:crypto';
import type {
  AssistantMessage,
  FinishReason,
  ReasoningDetail,
  ToolCall,
  Usage,
} from '../../api/wire/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { ProviderCompletion, TranslationContext } from '../provider.js';
import {
  type GeminiCandidate,
  type GeminiFunctionCall,
  type GeminiPart,
  type GeminiResponse,
  type GeminiUsageMetadata,
  geminiReasoningFormat,
} from './wire.js';

/**
 * Gemini's finish reasons in OpenAI's closed set (SPEC §4 "Output normalization"). Reasons with no
 * OpenAI equivalent (`OTHER`, `MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL`…) read as a normal
 * stop, or `tool_calls` when calls were produced.
 * @see https://ai.google.dev/api/generate-content#FinishReason
 */
export function mapGeminiFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'LANGUAGE':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
    case 'IMAGE_PROHIBITED_CONTENT':
    case 'IMAGE_RECITATION':
      return 'content_filter';
    default:
      return hasToolCalls ? 'tool_calls' : 'stop';
  }
}

/**
 * `candidatesTokenCount` excludes thinking, so completion = candidates + thoughts (reasoning ⊆
 * completion); `promptTokenCount` already includes cached tokens. Tool-use prompt tokens (server-side
 * tools, which the gateway never enables) are input too.
 */
export function toGeminiUsage(metadata: GeminiUsageMetadata): Usage {
  const prompt = (metadata.promptTokenCount ?? 0) + (metadata.toolUsePromptTokenCount ?? 0);
  const reasoning = metadata.thoughtsTokenCount ?? 0;
  const completion = (metadata.candidatesTokenCount ?? 0) + reasoning;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: metadata.cachedContentTokenCount ?? 0, cache_write_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
}

/**
 * Gemini's calls have no id the client can rely on, so one is derived: deterministic for a given
 * response (the same in JSON and streamed form), unique within it by call index, and distinct across
 * turns because each response has its own `responseId`. The upstream id itself is not exposed.
 */
export function geminiToolCallId(
  responseId: string | undefined,
  index: number,
  call: GeminiFunctionCall,
): string {
  const seed = responseId ?? `${call.name ?? ''}:${JSON.stringify(call.args ?? {})}`;
  const digest = createHash('sha256').update(`${seed}:${index}`).digest('base64url');
  return `call_${digest.replace(/[-_]/g, '').slice(0, 24)}`;
}

/** The OpenAI shape of one `functionCall` part. */
export function toToolCall(call: GeminiFunctionCall, id: string): ToolCall {
  return {
    id,
    type: 'function',
    function: { name: call.name ?? '', arguments: JSON.stringify(call.args ?? {}) },
  };
}

/**
 * What a part contributes to `reasoning_details` (OpenRouter's shape, SPEC §4): thought text, and
 * every `thoughtSignature` tied to the part it was on (`id` = the tool call's id), so that a client
 * sending the message back lets contents.ts restore each signature where Gemini expects it.
 */
export function reasoningDetailOf(
  part: GeminiPart,
  toolCallId: string | undefined,
  index: number,
): ReasoningDetail | undefined {
  if (part.thought === true) {
    const detail: ReasoningDetail = {
      type: 'reasoning.text',
      text: part.text ?? '',
      format: geminiReasoningFormat,
      index,
    };
    if (part.thoughtSignature) detail.signature = part.thoughtSignature;
    return detail;
  }
  if (!part.thoughtSignature) return undefined;
  const detail: ReasoningDetail = {
    type: 'reasoning.encrypted',
    data: part.thoughtSignature,
    format: geminiReasoningFormat,
    index,
  };
  if (toolCallId !== undefined) detail.id = toolCallId;
  return detail;
}

/** The candidate's parts; anything but a list reads as none. */
export function partsOf(candidate: GeminiCandidate | undefined): GeminiPart[] {
  const parts = candidate?.content?.parts;
  return Array.isArray(parts) ? parts : [];
}

function invalidResponse(context: TranslationContext): GatewayError {
  return new GatewayError(
    'upstream_invalid_response',
    { provider: context.target.provider.name },
    { shouldFallBack: true },
  );
}

/** A whole `generateContent` answer. A prompt blocked before generation has no candidate. */
export function parseGeminiResponse(body: unknown, context: TranslationContext): ProviderCompletion {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidResponse(context);
  const response = body as GeminiResponse;
  const candidate = response.candidates?.[0];
  if (!candidate && !response.promptFeedback?.blockReason) throw invalidResponse(context);

  let content: string | null = null;
  let reasoning = '';
  const reasoningDetails: ReasoningDetail[] = [];
  const toolCalls: ToolCall[] = [];
  for (const part of partsOf(candidate)) {
    let toolCallId: string | undefined;
    if (part.thought === true) {
      reasoning += part.text ?? '';
    } else if (part.functionCall) {
      toolCallId = geminiToolCallId(response.responseId, toolCalls.length, part.functionCall);
      toolCalls.push(toToolCall(part.functionCall, toolCallId));
    } else if (typeof part.text === 'string' && part.text.length > 0) {
      content = (content ?? '') + part.text;
    }
    const detail = reasoningDetailOf(part, toolCallId, reasoningDetails.length);
    if (detail) reasoningDetails.push(detail);
  }

  const message: AssistantMessage = { role: 'assistant', content, refusal: null };
  if (reasoning.length > 0) message.reasoning = reasoning;
  if (reasoningDetails.length > 0) message.reasoning_details = reasoningDetails;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const finishReason = candidate
    ? mapGeminiFinishReason(candidate.finishReason, toolCalls.length > 0)
    : 'content_filter';
  const completion: ProviderCompletion = { message, finishReason, logprobs: null };
  if (response.responseId) completion.upstreamId = response.responseId;
  if (response.usageMetadata) completion.usage = toGeminiUsage(response.usageMetadata);
  return completion;
}
