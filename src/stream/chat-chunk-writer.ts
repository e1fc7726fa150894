import type { ChatCompletion, ChunkDelta, FinishReason, ToolCallDelta, Usage } from '../api/wire/chat.js';
import type { GatewayError } from '../errors/gateway-error.js';
import { ChatAssembler, type CompletionHead } from './chat-assembler.js';
import { sseData, sseDone, sseErrorThenDone } from './sse-writer.js';
import type { StreamPart } from './stream-part.js';

export interface ChunkHead {
  id: string;
  created: number;
  model: string;
  provider: string;
  container?: string;
}

export interface ChatChunkWriterOptions {
  includeUsage: boolean;
  excludeReasoning: boolean;
  newToolCallId: () => string;
}

/**
 * Turns stream parts into OpenAI chunk frames and holds the chunk invariants of SPEC §3.4 for every
 * provider: the same head on every chunk, `role` on the first, tool-call fragments renumbered 0..k-1
 * with id/type/name only on an index's first fragment, exactly one `finish_reason` (synthesized if
 * the upstream gave none), and the usage chunk last when asked for. Each frame is written once.
 */
export class ChatChunkWriter {
  readonly assembler = new ChatAssembler();
  private readonly options: ChatChunkWriterOptions;
  private readonly head: ChunkHead;
  private prefix: string | undefined;
  private hasStarted = false;
  private finishReason: FinishReason | undefined;
  private usage: Usage | undefined;
  private systemFingerprint: string | undefined;
  upstreamId: string | undefined;
  private readonly toolIndexByKey = new Map<string, number>();
  private lastToolKey: string | undefined;

  constructor(head: ChunkHead, options: ChatChunkWriterOptions) {
    this.head = head;
    this.options = options;
  }

  get hasFinished(): boolean {
    return this.finishReason !== undefined;
  }

  get lastUsage(): Usage | undefined {
    return this.usage;
  }

  private chunkPrefix(): string {
    if (this.prefix === undefined) {
      const head: Record<string, unknown> = {
        id: this.head.id,
        object: 'chat.completion.chunk',
        created: this.head.created,
        model: this.head.model,
        provider: this.head.provider,
      };
      if (this.head.container !== undefined) head.container = this.head.container;
      if (this.systemFingerprint !== undefined) head.system_fingerprint = this.systemFingerprint;
      const json = JSON.stringify(head);
      this.prefix = `${json.slice(0, -1)},"choices":[`;
    }
    return this.prefix;
  }

  private frame(choice: string, delta: ChunkDelta | undefined): string {
    const suffix = this.options.includeUsage ? '],"usage":null}' : ']}';
    if (delta) this.assembler.add(delta);
    return sseData(this.chunkPrefix() + choice + suffix);
  }

  private choiceJson(delta: ChunkDelta, finishReason: FinishReason | null, logprobs: unknown): string {
    if (!this.hasStarted) {
      this.hasStarted = true;
      delta = { role: 'assistant', ...delta };
    }
    return `{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":${
      finishReason === null ? 'null' : `"${finishReason}"`
    },"logprobs":${logprobs === undefined ? 'null' : JSON.stringify(logprobs)}}`;
  }

  private normalizeToolCalls(fragments: ToolCallDelta[]): ToolCallDelta[] {
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

  /** Returns the frame text for one part ('' when the part produces no chunk). */
  write(part: StreamPart): string {
    switch (part.type) {
      case 'metadata':
        this.upstreamId ??= part.upstreamId;
        if (!this.hasStarted && part.systemFingerprint) this.systemFingerprint ??= part.systemFingerprint;
        return '';
      case 'usage':
        this.usage = part.usage;
        return '';
      case 'finish': {
        if (this.finishReason !== undefined) return '';
        this.finishReason = part.finishReason;
        return this.frame(this.choiceJson({}, part.finishReason, undefined), undefined);
      }
      case 'delta': {
        if (this.finishReason !== undefined) return '';
        let delta = part.delta;
        if (delta.tool_calls) {
          const toolCalls = this.normalizeToolCalls(delta.tool_calls);
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
        if (Object.keys(delta).length === 0 && part.logprobs === undefined) {
          if (this.hasStarted) return '';
        }
        return this.frame(this.choiceJson(delta, null, part.logprobs), delta);
      }
      case 'error':
        return this.error(part.error);
    }
  }

  /** Ends a stream that completed: synthesized finish if missing, the usage chunk, then `[DONE]`. */
  end(usage: Usage): string {
    this.usage = usage;
    let out = '';
    if (this.finishReason === undefined) {
      out += this.write({
        type: 'finish',
        finishReason: this.assembler.message().tool_calls ? 'tool_calls' : 'stop',
      });
    }
    if (this.options.includeUsage) {
      out += sseData(`${this.chunkPrefix()}],"usage":${JSON.stringify(usage)}}`);
    }
    return out + sseDone;
  }

  error(error: GatewayError): string {
    return sseErrorThenDone(error.toEnvelope());
  }

  /** The chat.completion this stream amounts to, for the log. */
  completion(usage: Usage): ChatCompletion {
    const head: CompletionHead = {
      id: this.head.id,
      created: this.head.created,
      model: this.head.model,
      provider: this.head.provider,
    };
    if (this.head.container !== undefined) head.container = this.head.container;
    if (this.systemFingerprint !== undefined) head.system_fingerprint = this.systemFingerprint;
    return this.assembler.completion(head, this.finishReason ?? 'stop', usage);
  }
}
