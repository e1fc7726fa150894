import type { ChatCompletionRequest, ChatMessage, ContentPart } from '../../api/wire/chat.js';
import { gatewayOnlyFields } from '../../api/wire/chat.js';
import { invalidValue } from '../../errors/gateway-error.js';
import type { UpstreamRequest, UpstreamTarget } from '../provider.js';
import type { OpenAiDialect } from './wire.js';

/** Parameters the catalog's `supported_parameters` can switch off (SPEC §4, preamble). */
const droppableParameters = [
  'temperature',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'seed',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'stop',
  'reasoning',
] as const;

function hasAudioInput(target: UpstreamTarget): boolean {
  return target.model.inputModalities.includes('audio');
}

/**
 * Applies the part-level rules: `input_audio` is dropped where the family cannot take it, a message
 * left empty is removed, and no message left at all is a 400 (SPEC §3.2).
 */
function mapMessages(messages: ChatMessage[], dialect: OpenAiDialect, target: UpstreamTarget): ChatMessage[] {
  const keepAudio = dialect === 'openai' && hasAudioInput(target);
  let changed = false;
  const out: ChatMessage[] = [];
  for (const message of messages) {
    let next = message;
    if (dialect !== 'openai' && message.role === 'developer') {
      next = { ...next, role: 'system' };
      changed = true;
    }
    if (
      !keepAudio &&
      Array.isArray(message.content) &&
      message.content.some((part) => part.type === 'input_audio')
    ) {
      const parts = (message.content as ContentPart[]).filter((part) => part.type !== 'input_audio');
      changed = true;
      if (parts.length === 0) continue;
      next = { ...next, content: parts };
    }
    out.push(next);
  }
  if (out.length === 0) throw invalidValue('messages', 'no message is left after removing unsupported parts');
  return changed ? out : messages;
}

/** `delete` only what is there: deleting an absent key is still a runtime call, on every request. */
function drop(body: Record<string, unknown>, key: string): void {
  if (key in body) delete body[key];
}

/**
 * Builds the upstream body: the client's body minus gateway-only fields, with the upstream model
 * name, usage always requested on streams, and the family's reasoning spelling. Unknown top-level
 * keys pass through untouched (SPEC §4).
 */
export function toOpenAiCompatibleBody(
  request: ChatCompletionRequest,
  target: UpstreamTarget,
  dialect: OpenAiDialect,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...request };
  for (const field of gatewayOnlyFields) drop(body, field);
  body.model = target.model.upstreamModel;
  body.messages = mapMessages(request.messages, dialect, target);

  const effort = request.reasoning?.effort ?? request.reasoning_effort;
  if (dialect !== 'openrouter') {
    drop(body, 'reasoning');
    if (effort !== undefined) body.reasoning_effort = effort;
  }
  const supported = target.model.supportedParameters;
  if (supported) {
    for (const name of droppableParameters) {
      if (supported.includes(name)) continue;
      drop(body, name);
      if (name === 'reasoning') drop(body, 'reasoning_effort');
    }
  }
  if (request.stream) {
    body.stream_options = { ...(request.stream_options ?? {}), include_usage: true };
  } else {
    drop(body, 'stream_options');
  }
  return body;
}

export function buildOpenAiCompatibleRequest(
  request: ChatCompletionRequest,
  target: UpstreamTarget,
  dialect: OpenAiDialect,
): UpstreamRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (request.stream) headers.accept = 'text/event-stream';
  else headers.accept = 'application/json';
  if (target.provider.apiKey) headers.authorization = `Bearer ${target.provider.apiKey}`;
  return {
    method: 'POST',
    url: `${target.provider.baseUrl}/chat/completions`,
    headers,
    body: JSON.stringify(toOpenAiCompatibleBody(request, target, dialect)),
  };
}
