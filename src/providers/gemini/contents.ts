import type { ChatMessage, ContentPart, ReasoningDetail, ToolCall } from '../../api/wire/chat.js';
import { invalidValue } from '../../errors/gateway-error.js';
import { toInlineData } from './data-url.js';
import { type GeminiContent, type GeminiPart, geminiReasoningFormat } from './wire.js';

/**
 * The value Google documents for a `functionCall` part replayed without its original signature (a
 * history from another model, or a client that dropped `reasoning_details`). Gemini 3 rejects an
 * unsigned first call of a turn with 400; this value skips that check.
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export const skipThoughtSignature = 'skip_thought_signature_validator';

export interface GeminiPrompt {
  systemInstruction?: { parts: { text: string }[] };
  contents: GeminiContent[];
}

/** Gemini 3 and later validate thought signatures on function calls; 1.x/2.x and Gemma do not. */
export function validatesThoughtSignatures(upstreamModel: string): boolean {
  const name = upstreamModel.replace(/^models\//, '');
  const version = /^gemini-(\d+)/.exec(name);
  if (version) return Number(version[1]) >= 3;
  return /^gemini-.*latest$/.test(name);
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (part.type === 'text') text += part.text;
    else if (part.type === 'refusal') text += part.refusal;
  }
  return text;
}

function userParts(message: ChatMessage, messageIndex: number): GeminiPart[] {
  if (typeof message.content === 'string') return message.content ? [{ text: message.content }] : [];
  const parts: GeminiPart[] = [];
  (message.content ?? []).forEach((part: ContentPart, partIndex) => {
    const param = `messages[${messageIndex}].content[${partIndex}]`;
    switch (part.type) {
      case 'text':
        if (part.text) parts.push({ text: part.text });
        break;
      case 'image_url':
        if (!part.image_url.url.startsWith('data:')) {
          throw invalidValue(
            `${param}.image_url.url`,
            'only data: URLs are supported with this model (the gateway never fetches URLs)',
          );
        }
        parts.push({ inlineData: toInlineData(part.image_url.url, `${param}.image_url.url`) });
        break;
      case 'file':
        if (part.file.file_id !== undefined) {
          throw invalidValue(`${param}.file.file_id`, 'file ids are not supported with this model');
        }
        if (part.file.file_data === undefined) throw invalidValue(`${param}.file`, 'file_data is required');
        parts.push({ inlineData: toInlineData(part.file.file_data, `${param}.file.file_data`) });
        break;
      default:
        // `input_audio` is dropped for Gemini (SPEC §4); `refusal` is not a user part.
        break;
    }
  });
  return parts;
}

function toolArguments(call: ToolCall, param: string): Record<string, unknown> {
  const text = call.function.arguments;
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidValue(param, 'must be a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidValue(param, 'must be a JSON object');
  }
  return value as Record<string, unknown>;
}

interface ReplayedReasoning {
  thoughtParts: GeminiPart[];
  signatureByCallId: Map<string, string>;
  textSignature: string | undefined;
}

/**
 * Reads back what parseResponse/stream wrote into `reasoning_details`: signed thoughts become thought
 * parts again, `reasoning.encrypted` entries put each signature back on the part it came from (the
 * tool call named by `id`, else the text). Unsigned thought text is not sent back: it adds prompt
 * tokens and Gemini does not need it. Only entries tagged `google-gemini-v1` are read: another vendor's
 * signature (a conversation that moved here by fallback) would make Gemini reject the request.
 */
function replayReasoning(details: ReasoningDetail[] | undefined): ReplayedReasoning {
  const replayed: ReplayedReasoning = {
    thoughtParts: [],
    signatureByCallId: new Map(),
    textSignature: undefined,
  };
  let pendingText = '';
  for (const detail of details ?? []) {
    if (detail.format !== geminiReasoningFormat) continue;
    if (detail.type === 'reasoning.text') {
      pendingText += typeof detail.text === 'string' ? detail.text : '';
      if (typeof detail.signature === 'string' && detail.signature.length > 0) {
        replayed.thoughtParts.push({ text: pendingText, thought: true, thoughtSignature: detail.signature });
        pendingText = '';
      }
    } else if (detail.type === 'reasoning.encrypted' && typeof detail.data === 'string') {
      if (typeof detail.id === 'string') replayed.signatureByCallId.set(detail.id, detail.data);
      else replayed.textSignature ??= detail.data;
    }
  }
  return replayed;
}

function modelParts(message: ChatMessage, messageIndex: number, shouldSignCalls: boolean): GeminiPart[] {
  const reasoning = replayReasoning(message.reasoning_details);
  const parts: GeminiPart[] = [...reasoning.thoughtParts];
  const text = textOf(message.content);
  if (text.length > 0) {
    const part: GeminiPart = { text };
    if (reasoning.textSignature) part.thoughtSignature = reasoning.textSignature;
    parts.push(part);
  }
  // Only the first call of a parallel batch carries a signature; the rest legitimately have none.
  let hasRealSignature = false;
  (message.tool_calls ?? []).forEach((call, callIndex) => {
    const args = toolArguments(call, `messages[${messageIndex}].tool_calls[${callIndex}].function.arguments`);
    const part: GeminiPart = { functionCall: { name: call.function.name, args } };
    const signature = reasoning.signatureByCallId.get(call.id);
    if (signature) {
      part.thoughtSignature = signature;
      hasRealSignature = true;
    } else if (shouldSignCalls && !hasRealSignature) {
      part.thoughtSignature = skipThoughtSignature;
    }
    parts.push(part);
  });
  return parts;
}

/**
 * Translates chat messages (SPEC §4, Gemini column): system/developer → `systemInstruction`,
 * assistant → `model` (tool calls → `functionCall`), tool results → `functionResponse` parts whose
 * name comes from the assistant call with that id, consecutive tool messages in one user turn.
 * Message `name` is dropped; a message left without parts is removed.
 */
export function toGeminiPrompt(messages: ChatMessage[], upstreamModel: string): GeminiPrompt {
  const shouldSignCalls = validatesThoughtSignatures(upstreamModel);
  const systemParts: { text: string }[] = [];
  const contents: GeminiContent[] = [];
  const toolNameById = new Map<string, string>();
  let toolTurn: GeminiContent | undefined;
  messages.forEach((message, index) => {
    if (message.role === 'system' || message.role === 'developer') {
      const text = textOf(message.content);
      if (text) systemParts.push({ text });
      return;
    }
    if (message.role === 'tool') {
      const id = message.tool_call_id ?? '';
      const name = toolNameById.get(id);
      if (name === undefined) {
        throw invalidValue(
          `messages[${index}].tool_call_id`,
          `no earlier assistant tool call has id '${id}'`,
        );
      }
      const part: GeminiPart = { functionResponse: { name, response: { output: textOf(message.content) } } };
      if (toolTurn) toolTurn.parts.push(part);
      else {
        toolTurn = { role: 'user', parts: [part] };
        contents.push(toolTurn);
      }
      return;
    }
    toolTurn = undefined;
    if (message.role === 'assistant') {
      for (const call of message.tool_calls ?? []) toolNameById.set(call.id, call.function.name);
      const parts = modelParts(message, index, shouldSignCalls);
      if (parts.length > 0) contents.push({ role: 'model', parts });
      return;
    }
    if (message.role === 'user') {
      const parts = userParts(message, index);
      if (parts.length > 0) contents.push({ role: 'user', parts });
    }
  });
  if (contents.length === 0) {
    throw invalidValue('messages', 'at least one user, assistant or tool message with content is required');
  }
  const prompt: GeminiPrompt = { contents };
  if (systemParts.length > 0) prompt.systemInstruction = { parts: systemParts };
  return prompt;
}
