import type { ChatMessage, ContentPart, ReasoningDetail } from '../../api/wire/chat.js';
import { type GatewayError, invalidValue } from '../../errors/gateway-error.js';
import { toAnthropicDocument, toAnthropicImage, toToolInput } from './content-blocks.js';
import type {
  AnthropicMessage,
  AnthropicRequestBlock,
  AnthropicTextBlock,
  AnthropicToolResultBlock,
} from './wire.js';

export function noMessageLeft(): GatewayError {
  return invalidValue('messages', 'no message is left after removing unsupported parts');
}

function textBlock(text: string, cacheControl: unknown): AnthropicTextBlock {
  const block: AnthropicTextBlock = { type: 'text', text };
  if (cacheControl !== undefined) block.cache_control = cacheControl;
  return block;
}

/** Text of a string or text/refusal parts; Anthropic rejects empty text blocks, so none are made. */
function textBlocks(content: ChatMessage['content']): AnthropicTextBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [textBlock(content, undefined)];
  const out: AnthropicTextBlock[] = [];
  for (const part of content ?? []) {
    if (part.type === 'text' && part.text !== '') out.push(textBlock(part.text, part.cache_control));
    else if (part.type === 'refusal' && part.refusal !== '') out.push(textBlock(part.refusal, undefined));
  }
  return out;
}

function userBlocks(content: ChatMessage['content'], messageIndex: number): AnthropicRequestBlock[] {
  if (!Array.isArray(content)) return textBlocks(content);
  const out: AnthropicRequestBlock[] = [];
  (content as ContentPart[]).forEach((part, partIndex) => {
    const param = `messages[${messageIndex}].content[${partIndex}]`;
    if (part.type === 'text') {
      if (part.text !== '') out.push(textBlock(part.text, part.cache_control));
    } else if (part.type === 'image_url') out.push(toAnthropicImage(part, param));
    else if (part.type === 'file') out.push(toAnthropicDocument(part, param));
    // input_audio is dropped for Anthropic (SPEC §4).
  });
  return out;
}

/** Signed thinking first, as Anthropic requires, so multi-turn thinking with tools keeps working. */
function thinkingBlocks(details: ReasoningDetail[] | undefined): AnthropicRequestBlock[] {
  const out: AnthropicRequestBlock[] = [];
  for (const detail of details ?? []) {
    if (detail.type === 'reasoning.text' && typeof detail.signature === 'string' && detail.signature) {
      out.push({ type: 'thinking', thinking: detail.text, signature: detail.signature });
    } else if (detail.type === 'reasoning.encrypted') {
      out.push({ type: 'redacted_thinking', data: detail.data });
    }
  }
  return out;
}

function assistantBlocks(message: ChatMessage, messageIndex: number): AnthropicRequestBlock[] {
  const out = [...thinkingBlocks(message.reasoning_details), ...textBlocks(message.content)];
  message.tool_calls?.forEach((call, callIndex) => {
    out.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: toToolInput(
        call.function.arguments,
        `messages[${messageIndex}].tool_calls[${callIndex}].function.arguments`,
      ),
    });
  });
  return out;
}

function toolResultBlock(message: ChatMessage): AnthropicToolResultBlock {
  const block: AnthropicToolResultBlock = { type: 'tool_result', tool_use_id: message.tool_call_id ?? '' };
  if (typeof message.content === 'string') {
    if (message.content !== '') block.content = message.content;
  } else {
    const blocks = textBlocks(message.content);
    if (blocks.length > 0) block.content = blocks;
  }
  return block;
}

/**
 * SPEC §4 messages column: system/developer text goes to `system` (cache_control kept), tool
 * messages become user `tool_result` blocks, assistant tool calls `tool_use` blocks, message `name`
 * is dropped, same-role runs are merged, and in a user turn the tool results come first as Anthropic
 * requires. Messages left with no block are removed.
 * @see https://platform.claude.com/docs/en/api/messages/create
 */
export function toAnthropicMessages(messages: ChatMessage[]): {
  system: AnthropicTextBlock[];
  messages: AnthropicMessage[];
} {
  const system: AnthropicTextBlock[] = [];
  const out: AnthropicMessage[] = [];
  messages.forEach((message, index) => {
    let role: AnthropicMessage['role'];
    let blocks: AnthropicRequestBlock[];
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(message.content));
        return;
      case 'user':
        role = 'user';
        blocks = userBlocks(message.content, index);
        break;
      case 'tool':
        role = 'user';
        blocks = [toolResultBlock(message)];
        break;
      case 'assistant':
        role = 'assistant';
        blocks = assistantBlocks(message, index);
        break;
      default:
        // `function` messages are rejected by checkRequest before this runs.
        return;
    }
    if (blocks.length === 0) return;
    const previous = out.at(-1);
    if (previous && previous.role === role) previous.content.push(...blocks);
    else out.push({ role, content: blocks });
  });
  for (const message of out) {
    if (message.role !== 'user') continue;
    const results = message.content.filter((block) => block.type === 'tool_result');
    if (results.length > 0 && results.length < message.content.length) {
      message.content = [...results, ...message.content.filter((block) => block.type !== 'tool_result')];
    }
  }
  return { system, messages: out };
}
