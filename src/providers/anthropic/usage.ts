import type { Usage } from '../../api/wire/chat.js';
import type { AnthropicUsage } from './wire.js';

function count(value: number | null | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Anthropic reports uncached input apart from cache reads and cache writes; OpenAI's `prompt_tokens`
 * includes all three (SPEC §3.3), with reads as `cached_tokens` and writes as `cache_write_tokens`.
 * @see https://platform.claude.com/docs/en/build-with-claude/prompt-caching
 */
export function usageFromAnthropic(usage: AnthropicUsage): Usage {
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheWrite = count(usage.cache_creation_input_tokens);
  const prompt = count(usage.input_tokens) + cacheRead + cacheWrite;
  const completion = count(usage.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  };
}

/** `message_delta` usage is cumulative and may repeat fields as null; only numbers overwrite. */
export function mergeAnthropicUsage(base: AnthropicUsage, update: AnthropicUsage): AnthropicUsage {
  const merged = { ...base };
  for (const key of Object.keys(update) as (keyof AnthropicUsage)[]) {
    const value = update[key];
    if (typeof value === 'number') merged[key] = value;
  }
  return merged;
}
