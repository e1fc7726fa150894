import type { ChunkDelta, FinishReason, ToolCallDelta } from '../api/wire/chat.js';
import type {
  FunctionCallItem,
  OutputItem,
  OutputMessage,
  OutputTextPart,
  ReasoningItem,
  RefusalPart,
  ResponseObject,
  ResponseStreamEvent,
  ResponseUsage,
} from '../api/wire/responses.js';
import type { StreamPart } from './stream-part.js';
import { StreamPartNormalizer } from './stream-part-normalizer.js';

/** Receives each event as it is made; it must serialize (or copy) the event before returning. */
export type ResponseEventSink = (event: ResponseStreamEvent) => void;

export type ItemIdPrefix = 'msg' | 'rs' | 'fc';

export interface ResponseEventWriterOptions {
  sink: ResponseEventSink;
  newItemId(prefix: ItemIdPrefix): string;
  newToolCallId(): string;
  /** Unix seconds, for `completed_at`. */
  nowSeconds(): number;
}

type ItemStatus = 'completed' | 'incomplete';

interface OpenMessage {
  item: OutputMessage;
  index: number;
  part: OutputTextPart | RefusalPart | undefined;
}

interface OpenReasoning {
  item: ReasoningItem;
  index: number;
}

/**
 * Turns stream parts into the Responses event sequence of SPEC §12.4 and builds the `Response` it
 * amounts to: reasoning, message and function-call items opened in the order their output arrives.
 * A reasoning or message item is closed with its `.done` events when output of another kind starts;
 * function calls stay open until the end, so fragments of parallel calls may interleave and no event
 * ever follows an item's `output_item.done`. Then one terminal event. Every event gets the next
 * `sequence_number`. The same writer shapes non-streamed answers (with a sink that drops events), so
 * both paths produce the same items.
 */
export class ResponseEventWriter {
  readonly normalizer: StreamPartNormalizer;
  private sequence = 0;
  private message: OpenMessage | undefined;
  private reasoning: OpenReasoning | undefined;
  private readonly calls = new Map<number, { item: FunctionCallItem; index: number }>();

  constructor(
    readonly response: ResponseObject,
    private readonly options: ResponseEventWriterOptions,
  ) {
    this.normalizer = new StreamPartNormalizer({
      excludeReasoning: false,
      newToolCallId: options.newToolCallId,
    });
  }

  get lastSequence(): number {
    return this.sequence - 1;
  }

  get finishReason(): FinishReason | undefined {
    return this.normalizer.finishReason;
  }

  private emit(type: string, fields: Record<string, unknown>): void {
    this.options.sink({ type, sequence_number: this.sequence++, ...fields });
  }

  /** `response.created`, then `response.queued` for a queued background response. */
  created(): void {
    this.emit('response.created', { response: this.response });
    if (this.response.status === 'queued') this.emit('response.queued', { response: this.response });
  }

  inProgress(): void {
    this.response.status = 'in_progress';
    this.emit('response.in_progress', { response: this.response });
  }

  /** Feeds one part; an `error` part is returned for the caller to fail the response with. */
  write(part: StreamPart): Extract<StreamPart, { type: 'error' }> | undefined {
    const normalized = this.normalizer.accept(part);
    if (normalized === undefined || normalized.type === 'finish') return undefined;
    if (normalized.type === 'error') return normalized;
    this.delta(normalized.delta);
    return undefined;
  }

  private delta(delta: ChunkDelta): void {
    if (typeof delta.reasoning === 'string' && delta.reasoning.length > 0)
      this.reasoningText(delta.reasoning);
    if (typeof delta.content === 'string' && delta.content.length > 0)
      this.messageText('output_text', delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal.length > 0)
      this.messageText('refusal', delta.refusal);
    for (const fragment of delta.tool_calls ?? []) this.toolCall(fragment);
  }

  private addItem(item: OutputItem): number {
    const index = this.response.output.length;
    this.response.output.push(item);
    this.emit('response.output_item.added', { output_index: index, item });
    return index;
  }

  /** Reasoning summary text (opens the reasoning item on first use). */
  reasoningText(text: string): void {
    let open = this.reasoning;
    if (!open) {
      this.closeMessage('completed');
      const item: ReasoningItem = { type: 'reasoning', id: this.options.newItemId('rs'), summary: [] };
      open = { item, index: this.addItem(item) };
      this.reasoning = open;
      item.summary.push({ type: 'summary_text', text: '' });
      this.emit('response.reasoning_summary_part.added', {
        item_id: item.id,
        output_index: open.index,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      });
    }
    if (text.length === 0) return;
    const summary = open.item.summary[0] as { text: string };
    summary.text += text;
    this.emit('response.reasoning_summary_text.delta', {
      item_id: open.item.id,
      output_index: open.index,
      summary_index: 0,
      delta: text,
    });
  }

  private closeReasoning(): void {
    const open = this.reasoning;
    if (!open) return;
    this.reasoning = undefined;
    const text = open.item.summary[0]?.text ?? '';
    const ids = { item_id: open.item.id, output_index: open.index, summary_index: 0 };
    this.emit('response.reasoning_summary_text.done', { ...ids, text });
    this.emit('response.reasoning_summary_part.done', { ...ids, part: { type: 'summary_text', text } });
    this.emit('response.output_item.done', { output_index: open.index, item: open.item });
  }

  /** Message text or refusal (opens the message, or a new part of it, on first use). */
  messageText(kind: 'output_text' | 'refusal', text: string): void {
    let open = this.message;
    if (!open) {
      this.closeReasoning();
      const item: OutputMessage = {
        type: 'message',
        id: this.options.newItemId('msg'),
        status: 'in_progress',
        role: 'assistant',
        content: [],
      };
      open = { item, index: this.addItem(item), part: undefined };
      this.message = open;
    }
    if (open.part?.type !== kind) {
      this.closePart(open);
      const part: OutputTextPart | RefusalPart =
        kind === 'output_text'
          ? { type: 'output_text', text: '', annotations: [], logprobs: [] }
          : { type: 'refusal', refusal: '' };
      open.item.content.push(part);
      open.part = part;
      this.emit('response.content_part.added', {
        item_id: open.item.id,
        output_index: open.index,
        content_index: open.item.content.length - 1,
        part,
      });
    }
    if (text.length === 0) return;
    const ids = {
      item_id: open.item.id,
      output_index: open.index,
      content_index: open.item.content.length - 1,
    };
    if (open.part.type === 'output_text') {
      open.part.text += text;
      this.emit('response.output_text.delta', { ...ids, delta: text, logprobs: [] });
    } else {
      open.part.refusal += text;
      this.emit('response.refusal.delta', { ...ids, delta: text });
    }
  }

  private closePart(open: OpenMessage): void {
    const part = open.part;
    if (!part) return;
    open.part = undefined;
    const ids = {
      item_id: open.item.id,
      output_index: open.index,
      content_index: open.item.content.length - 1,
    };
    if (part.type === 'output_text') {
      this.emit('response.output_text.done', { ...ids, text: part.text, logprobs: [] });
    } else {
      this.emit('response.refusal.done', { ...ids, refusal: part.refusal });
    }
    this.emit('response.content_part.done', { ...ids, part });
  }

  private closeMessage(status: ItemStatus): void {
    const open = this.message;
    if (!open) return;
    this.message = undefined;
    this.closePart(open);
    open.item.status = status;
    this.emit('response.output_item.done', { output_index: open.index, item: open.item });
  }

  /** A renumbered tool-call fragment (the first of an index opens its function-call item). */
  toolCall(fragment: ToolCallDelta): void {
    let open = this.calls.get(fragment.index);
    if (!open) {
      this.closeReasoning();
      this.closeMessage('completed');
      const item: FunctionCallItem = {
        type: 'function_call',
        id: this.options.newItemId('fc'),
        call_id: fragment.id ?? this.options.newToolCallId(),
        name: fragment.function?.name ?? '',
        arguments: '',
        status: 'in_progress',
      };
      open = { item, index: this.addItem(item) };
      this.calls.set(fragment.index, open);
    }
    const piece = fragment.function?.arguments ?? '';
    if (piece.length === 0) return;
    open.item.arguments += piece;
    this.emit('response.function_call_arguments.delta', {
      item_id: open.item.id,
      output_index: open.index,
      delta: piece,
    });
  }

  private closeCall(open: { item: FunctionCallItem; index: number }, status: ItemStatus): void {
    this.emit('response.function_call_arguments.done', {
      item_id: open.item.id,
      output_index: open.index,
      name: open.item.name,
      arguments: open.item.arguments,
    });
    open.item.status = status;
    this.emit('response.output_item.done', { output_index: open.index, item: open.item });
  }

  /** Closes every open item, in output order. */
  private closeAll(status: ItemStatus): void {
    const open: [number, () => void][] = [];
    const reasoning = this.reasoning;
    if (reasoning) open.push([reasoning.index, () => this.closeReasoning()]);
    const message = this.message;
    if (message) open.push([message.index, () => this.closeMessage(status)]);
    for (const call of this.calls.values()) {
      if (call.item.status === 'in_progress') open.push([call.index, () => this.closeCall(call, status)]);
    }
    open.sort((left, right) => left[0] - right[0]);
    for (const [, close] of open) close();
  }

  /**
   * Ends a stream that completed: `completed`, or `incomplete` when the model stopped on its length
   * limit or a content filter (SPEC §12.2). A text answer with no output still gets its (empty)
   * message, as OpenAI's do.
   */
  complete(usage: ResponseUsage): ResponseObject {
    const finishReason = this.normalizer.finishReason;
    const reason =
      finishReason === 'length'
        ? 'max_output_tokens'
        : finishReason === 'content_filter'
          ? 'content_filter'
          : null;
    if (this.response.output.length === 0 && reason === null) this.messageText('output_text', '');
    const response = this.response;
    response.usage = usage;
    if (reason === null) {
      response.status = 'completed';
      response.completed_at = this.options.nowSeconds();
    } else {
      response.status = 'incomplete';
      response.incomplete_details = { reason };
    }
    return this.terminate(response);
  }

  /** A failure after the first event: `error`, then `response.failed` (SPEC §12.4). */
  fail(error: { code: string; message: string }, usage?: ResponseUsage): ResponseObject {
    const response = this.response;
    if (usage) response.usage = usage;
    response.status = 'failed';
    response.error = { code: error.code, message: error.message };
    return this.terminate(response);
  }

  /** A cancelled background response keeps its partial output. */
  cancel(usage?: ResponseUsage): ResponseObject {
    const response = this.response;
    if (usage) response.usage = usage;
    response.status = 'cancelled';
    return this.terminate(response);
  }

  /**
   * Closes what is open and writes the terminal event for `final`'s status. The Responses API has
   * no `response.cancelled` event: `response.incomplete` carrying status `cancelled` ends the stream
   * of a cancelled response. Replays pass the stored response as `final`.
   */
  terminate(final: ResponseObject): ResponseObject {
    this.closeAll(final.status === 'completed' ? 'completed' : 'incomplete');
    final.output_text = outputTextOf(final.output);
    switch (final.status) {
      case 'completed':
        this.emit('response.completed', { response: final });
        break;
      case 'failed': {
        const error = final.error ?? { code: 'internal_error', message: 'Internal server error.' };
        this.emit('error', { code: error.code, message: error.message, param: null });
        this.emit('response.failed', { response: final });
        break;
      }
      default:
        this.emit('response.incomplete', { response: final });
    }
    return final;
  }

  /** A copy of the response as it stands, for checkpoints. */
  snapshot(): ResponseObject {
    const copy = structuredClone(this.response);
    copy.output_text = outputTextOf(copy.output);
    return copy;
  }
}

export function outputTextOf(output: readonly OutputItem[]): string {
  let text = '';
  for (const item of output) {
    if (item.type !== 'message') continue;
    for (const part of item.content) if (part.type === 'output_text') text += part.text;
  }
  return text;
}
