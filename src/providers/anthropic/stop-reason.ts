import type { FinishReason } from '../../api/wire/chat.js';

/**
 * Anthropic's `stop_reason` as an OpenAI `finish_reason` (SPEC §4, output normalization). A forced
 * `json_response` tool is the answer itself, so its `tool_use` stop reads as `stop`.
 * @see https://platform.claude.com/docs/en/api/handling-stop-reasons
 */
export function mapAnthropicStopReason(
  stopReason: string | null | undefined,
  options: { isJsonResponse: boolean; hasToolCalls: boolean },
): FinishReason {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return options.isJsonResponse ? 'stop' : 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return options.hasToolCalls ? 'tool_calls' : 'stop';
  }
}
