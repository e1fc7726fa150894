import type {
  AssistantMessage,
  ChatCompletion,
  ChunkDelta,
  FinishReason,
  ReasoningDetail,
  ToolCall,
  Usage,
} from '../api/wire/chat.js';

export interface CompletionHead {
  id: string;
  created: number;
  model: string;
  provider: string;
  container?: string;
  system_fingerprint?: string;
}

/**
 * Rebuilds the `chat.completion` a stream amounted to, from normalized deltas, for the request log
 * and stored completions (SPEC §10: streams store the assembled completion).
 */
export class ChatAssembler {
  private content = '';
  private hasContent = false;
  private reasoning = '';
  private refusal: string | null = null;
  private reasoningDetails: ReasoningDetail[] = [];
  private readonly toolCalls: ToolCall[] = [];

  add(delta: ChunkDelta): void {
    if (typeof delta.content === 'string') {
      this.content += delta.content;
      this.hasContent = true;
    }
    if (typeof delta.reasoning === 'string') this.reasoning += delta.reasoning;
    if (typeof delta.refusal === 'string') this.refusal = (this.refusal ?? '') + delta.refusal;
    if (delta.reasoning_details) this.reasoningDetails.push(...delta.reasoning_details);
    for (const fragment of delta.tool_calls ?? []) {
      const existing = this.toolCalls[fragment.index];
      if (existing) existing.function.arguments += fragment.function?.arguments ?? '';
      else {
        this.toolCalls[fragment.index] = {
          id: fragment.id ?? '',
          type: 'function',
          function: { name: fragment.function?.name ?? '', arguments: fragment.function?.arguments ?? '' },
        };
      }
    }
  }

  /** Text produced so far, for the usage estimate when the upstream gave none (SPEC §8.3). */
  generatedCharacters(): number {
    let total = this.content.length + this.reasoning.length;
    for (const call of this.toolCalls) total += call.function.arguments.length;
    return total;
  }

  message(): AssistantMessage {
    const message: AssistantMessage = {
      role: 'assistant',
      content: this.hasContent ? this.content : null,
      refusal: this.refusal,
    };
    if (this.reasoning) message.reasoning = this.reasoning;
    if (this.reasoningDetails.length > 0) message.reasoning_details = this.reasoningDetails;
    if (this.toolCalls.length > 0) message.tool_calls = this.toolCalls;
    return message;
  }

  completion(head: CompletionHead, finishReason: FinishReason, usage: Usage): ChatCompletion {
    return {
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, finish_reason: finishReason, logprobs: null, message: this.message() }],
      usage,
    };
  }
}
