import type { ChunkDelta, FinishReason, ToolCallDelta, Usage } from '../api/wire/chat.js';
import { ChatAssembler } from './chat-assembler.js';
import type { StreamPart } from './stream-part.js';

export interface StreamPartNormalizerOptions {
  /** Drops `reasoning` and `reasoning_details` from deltas (chat `reasoning.exclude`). */
  excludeReasoning: boolean;
  /** Mints an id for a tool call whose upstream gave none. */
  newToolCallId: () => string;
}

/** What a normalized stream carries to its writer: output only; usage and ids stay in the normalizer. */
export type NormalizedPart =
  | { type: 'delta'; delta: ChunkDelta; logprobs?: unknown }
  | { type: 'finish'; finishReason: FinishReason }
  | Extract<StreamPart, { type: 'error' }>;

/**
 * The provider-independent half of every stream writer (chat chunks and Responses events alike):
 * tool-call fragments renumbered 0..k-1 by upstream index (or id) with id/type/name only on an
 * index's first fragment, at most one finish and no output after it, reasoning excluded when asked,
 * the last usage and the upstream ids kept, and the whole output assembled for the log and for
 * usage estimates. A part comes back as the same object, or (a rewritten delta) as one reused
 * object valid until the next call, so normalizing allocates nothing per chunk beyond the rewrite.
 */
export class StreamPartNormalizer {
  readonly assembler = new ChatAssembler();
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
  upstreamId: string | undefined;
  /** The upstream's fingerprint, kept only if it came before any output (chunk heads are fixed then). */
  systemFingerprint: string | undefined;
  private hasOutput = false;
  private readonly toolIndexByKey = new Map<string, number>();
  private lastToolKey: string | undefined;
  /** The part handed out for a rewritten delta; reused, so it is valid until the next `accept`. */
  private readonly rewritten: { type: 'delta'; delta: ChunkDelta; logprobs?: unknown } = {
    type: 'delta',
    delta: {},
  };

  constructor(private readonly options: StreamPartNormalizerOptions) {}

  get hasToolCalls(): boolean {
    return this.toolIndexByKey.size > 0;
  }

  /** The part as writers should see it, or undefined when it carries no output. */
  accept(part: StreamPart): NormalizedPart | undefined {
    switch (part.type) {
      case 'metadata':
        this.upstreamId ??= part.upstreamId;
        if (!this.hasOutput && part.systemFingerprint) this.systemFingerprint ??= part.systemFingerprint;
        return undefined;
      case 'usage':
        this.usage = part.usage;
        return undefined;
      case 'finish':
        if (this.finishReason !== undefined) return undefined;
        this.finishReason = part.finishReason;
        this.hasOutput = true;
        return part;
      case 'delta': {
        if (this.finishReason !== undefined) return undefined;
        this.hasOutput = true;
        let delta = part.delta;
        if (delta.tool_calls) {
          const toolCalls = this.renumber(delta.tool_calls);
          delta = { ...delta };
          if (toolCalls.length > 0) delta.tool_calls = toolCalls;
          else delete delta.tool_calls;
        }
        if (
          this.options.excludeReasoning &&
          (delta.reasoning !== undefined || delta.reasoning_details !== undefined)
        ) {
          const { reasoning: _reasoning, reasoning_details: _details, ...rest } = delta;
          delta = rest;
        }
        this.assembler.add(delta);
        if (delta === part.delta) return part;
        this.rewritten.delta = delta;
        this.rewritten.logprobs = part.logprobs;
        return this.rewritten;
      }
      case 'error':
        return part;
    }
  }

  private renumber(fragments: ToolCallDelta[]): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    for (const fragment of fragments) {
      const key =
        typeof fragment.index === 'number'
          ? `i${fragment.index}`
          : fragment.id
            ? `id${fragment.id}`
            : (this.lastToolKey ?? 'i0');
      this.lastToolKey = key;
      let index = this.toolIndexByKey.get(key);
      const argumentsPiece = fragment.function?.arguments ?? '';
      if (index === undefined) {
        index = this.toolIndexByKey.size;
        this.toolIndexByKey.set(key, index);
        out.push({
          index,
          id: fragment.id || this.options.newToolCallId(),
          type: 'function',
          function: { name: fragment.function?.name ?? '', arguments: argumentsPiece },
        });
      } else if (argumentsPiece.length > 0) {
        out.push({ index, function: { arguments: argumentsPiece } });
      }
    }
    return out;
  }
}
