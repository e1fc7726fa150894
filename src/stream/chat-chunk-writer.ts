import type { ChatCompletion, ChunkDelta, FinishReason, Usage } from '../api/wire/chat.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { ChatAssembler, CompletionHead } from './chat-assembler.js';
import { sseData, sseDone, sseErrorThenDone } from './sse-writer.js';
import type { StreamPart } from './stream-part.js';
import { StreamPartNormalizer } from './stream-part-normalizer.js';

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
 * provider: the same head on every chunk, `role` on the first, exactly one `finish_reason`
 * (synthesized if the upstream gave none), and the usage chunk last when asked for. Tool-call
 * renumbering, the single finish and reasoning exclusion are the normalizer's, shared with the
 * Responses writer. Each frame is written once.
 */
export class ChatChunkWriter {
  readonly normalizer: StreamPartNormalizer;
  private readonly options: ChatChunkWriterOptions;
  private readonly head: ChunkHead;
  private prefix: string | undefined;
  private hasStarted = false;

  constructor(head: ChunkHead, options: ChatChunkWriterOptions) {
    this.head = head;
    this.options = options;
    this.normalizer = new StreamPartNormalizer(options);
  }

  get assembler(): ChatAssembler {
    return this.normalizer.assembler;
  }

  get hasFinished(): boolean {
    return this.normalizer.finishReason !== undefined;
  }

  get lastUsage(): Usage | undefined {
    return this.normalizer.usage;
  }

  get upstreamId(): string | undefined {
    return this.normalizer.upstreamId;
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
      const fingerprint = this.normalizer.systemFingerprint;
      if (fingerprint !== undefined) head.system_fingerprint = fingerprint;
      const json = JSON.stringify(head);
      this.prefix = `${json.slice(0, -1)},"choices":[`;
    }
    return this.prefix;
  }

  private frame(choice: string): string {
    const suffix = this.options.includeUsage ? '],"usage":null}' : ']}';
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

  /** Returns the frame text for one part ('' when the part produces no chunk). */
  write(part: StreamPart): string {
    const normalized = this.normalizer.accept(part);
    if (normalized === undefined) return '';
    switch (normalized.type) {
      case 'finish':
        return this.frame(this.choiceJson({}, normalized.finishReason, undefined));
      case 'delta': {
        const delta = normalized.delta;
        if (this.hasStarted && normalized.logprobs === undefined && Object.keys(delta).length === 0) {
          return '';
        }
        return this.frame(this.choiceJson(delta, null, normalized.logprobs));
      }
      case 'error':
        return this.error(normalized.error);
    }
  }

  /** Ends a stream that completed: synthesized finish if missing, the usage chunk, then `[DONE]`. */
  end(usage: Usage): string {
    this.normalizer.usage = usage;
    let out = '';
    if (this.normalizer.finishReason === undefined) {
      out += this.write({
        type: 'finish',
        finishReason: this.normalizer.hasToolCalls ? 'tool_calls' : 'stop',
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
    const fingerprint = this.normalizer.systemFingerprint;
    if (fingerprint !== undefined) head.system_fingerprint = fingerprint;
    return this.assembler.completion(head, this.normalizer.finishReason ?? 'stop', usage);
  }
}
