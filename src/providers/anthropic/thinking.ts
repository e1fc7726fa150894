import type { ChatCompletionRequest, ReasoningEffort } from '../../api/wire/chat.js';
import type { UpstreamTarget } from '../provider.js';

/** SPEC §4: `thinking.budget_tokens` per effort when `reasoning.max_tokens` is not given. */
const budgetByEffort: Record<Exclude<ReasoningEffort, 'none'>, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24576,
};

/** Used when the catalog entry states no `max_output_tokens` (SPEC §8.1 uses the same default). */
const defaultMaxTokens = 4096;

/**
 * The extended-thinking budget, or undefined when thinking stays off: effort `none`, `enabled:false`,
 * nothing asked, or `reasoning` missing from the model's `supported_parameters`. `reasoning.enabled`
 * alone (OpenRouter's spelling) means the medium budget.
 * @see https://platform.claude.com/docs/en/build-with-claude/extended-thinking
 */
export function thinkingBudgetFor(
  request: ChatCompletionRequest,
  target: UpstreamTarget,
): number | undefined {
  const supported = target.model.supportedParameters;
  if (supported && !supported.includes('reasoning')) return undefined;
  const reasoning = request.reasoning;
  const effort = reasoning?.effort ?? request.reasoning_effort;
  if (effort === 'none' || reasoning?.enabled === false) return undefined;
  if (typeof reasoning?.max_tokens === 'number')
    return reasoning.max_tokens > 0 ? reasoning.max_tokens : undefined;
  if (effort !== undefined) return budgetByEffort[effort];
  return reasoning?.enabled === true ? budgetByEffort.medium : undefined;
}

/**
 * `max_tokens` is always sent: the client's limit, else the catalog's, else 4096; thinking tokens count
 * against it, so it is raised by the budget. The raise stops at the model's output limit when that
 * still leaves room above the budget, since Anthropic rejects a `max_tokens` past the model limit.
 */
export function maxTokensFor(
  request: ChatCompletionRequest,
  target: UpstreamTarget,
  budget: number | undefined,
): number {
  const limit = target.model.maxOutputTokens;
  const base = request.max_completion_tokens ?? request.max_tokens ?? limit ?? defaultMaxTokens;
  if (budget === undefined) return base;
  const raised = base + budget;
  return limit !== null && raised > limit && limit > budget ? limit : raised;
}
