import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { ChatCompletionRequest } from '../api/wire/chat.js';
import { estimatePromptTokens } from './usage-estimate.js';

/** Above this much text the tokenizer costs more than a gateway hop; the §8.3 estimator takes over. */
const tokenizerLimitCharacters = 16 * 1024;

function textOf(request: ChatCompletionRequest): { text: string; fixed: number } {
  let text = '';
  let fixed = 0;
  for (const message of request.messages) {
    fixed += 4;
    const content = message.content;
    if (typeof content === 'string') text += content;
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === 'text') text += part.text;
        else if (part.type === 'refusal') text += part.refusal;
        else fixed += 1000;
      }
    }
    for (const call of message.tool_calls ?? []) text += call.function.name + call.function.arguments;
  }
  if (request.tools && request.tools.length > 0) text += JSON.stringify(request.tools);
  return { text, fixed };
}

/**
 * Prompt tokens for the billing reservation: counted with a real tokenizer (o200k) for prompts of
 * chat size, estimated by SPEC §8.3 beyond 16 KiB of text (decision 0009).
 */
export function countPromptTokens(request: ChatCompletionRequest): number {
  const { text, fixed } = textOf(request);
  if (text.length > tokenizerLimitCharacters) return estimatePromptTokens(request.messages, request.tools);
  return countTokens(text) + fixed;
}

export function imagePartsOf(request: ChatCompletionRequest): number {
  let images = 0;
  for (const message of request.messages) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) if (part.type === 'image_url') images++;
  }
  return images;
}
