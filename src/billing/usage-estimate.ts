import type { ChatMessage, Usage } from '../api/wire/chat.js';

/** Tokens for characters in the estimator of SPEC §8.3. */
export function tokensForCharacters(characters: number): number {
  return Math.ceil(characters / 4);
}

/**
 * Prompt estimate of SPEC §8.3: ceil(chars / 4) over text, tool arguments and schemas, plus 4 per
 * message and 1 000 per image or file part.
 */
export function estimatePromptTokens(messages: ChatMessage[], tools: unknown[] | undefined): number {
  let characters = 0;
  let fixed = 0;
  for (const message of messages) {
    fixed += 4;
    const content = message.content;
    if (typeof content === 'string') characters += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === 'text') characters += part.text.length;
        else if (part.type === 'refusal') characters += part.refusal.length;
        else fixed += 1000;
      }
    }
    for (const call of message.tool_calls ?? [])
      characters += call.function.arguments.length + call.function.name.length;
  }
  if (tools && tools.length > 0) characters += JSON.stringify(tools).length;
  return tokensForCharacters(characters) + fixed;
}

export function estimatedUsage(promptTokens: number, completionCharacters: number): Usage {
  const completion = tokensForCharacters(completionCharacters);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    estimated: true,
  };
}

/**
 * Fills the detail objects the spec's response shape always carries (SPEC §3.3). Copies, then
 * assigns: spreading an object and then redefining keys it already has takes a slow V8 path.
 */
export function normalizeUsage(usage: Usage): Usage {
  const prompt = { ...usage.prompt_tokens_details };
  prompt.cached_tokens ??= 0;
  prompt.cache_write_tokens ??= 0;
  prompt.audio_tokens ??= 0;
  const completion = { ...usage.completion_tokens_details };
  completion.reasoning_tokens ??= 0;
  completion.audio_tokens ??= 0;
  const normalized = { ...usage };
  normalized.total_tokens ??= usage.prompt_tokens + usage.completion_tokens;
  normalized.prompt_tokens_details = prompt;
  normalized.completion_tokens_details = completion;
  return normalized;
}
