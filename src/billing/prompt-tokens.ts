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

type CountTokens = (text: string) => number;
let countTokens: CountTokens | undefined;

/**
 * Loads the o200k tokenizer (its rank table holds about 60 MB), once, and only when a reservation
 * is needed: a gateway without billing or budgets never pays for it.
 */
export async function loadTokenizer(): Promise<void> {
  countTokens ??= (await import('gpt-tokenizer/encoding/o200k_base')).countTokens;
}

/**
 * Prompt tokens for the billing reservation: counted with a real tokenizer (o200k) for prompts of
 * chat size, estimated by SPEC §8.3 beyond 16 KiB of text or before the tokenizer is loaded
 * (decision 0010).
 */
export function countPromptTokens(request: ChatCompletionRequest): number {
  const { text, fixed } = textOf(request);
  if (text.length > tokenizerLimitCharacters || countTokens === undefined) {
    return estimatePromptTokens(request.messages, request.tools);
  }
  return countTokens(text) + fixed;
}

/**
 * An upper bound of `countPromptTokens` that needs no tokenizer: every o200k token covers at least one
 * byte, so the UTF-8 length of the text bounds its token count. Beyond 16 KiB both use the §8.3
 * estimator.
 */
export function promptTokenBound(request: ChatCompletionRequest): number {
  const { text, fixed } = textOf(request);
  if (text.length > tokenizerLimitCharacters) return estimatePromptTokens(request.messages, request.tools);
  return Buffer.byteLength(text, 'utf8') + fixed;
}

/** Whether the o200k tokenizer has been loaded into this process. */
export function isTokenizerLoaded(): boolean {
  return countTokens !== undefined;
}

export function imagePartsOf(request: ChatCompletionRequest): number {
  let images = 0;
  for (const message of request.messages) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) if (part.type === 'image_url') images++;
  }
  return images;
}
