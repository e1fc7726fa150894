import type { ChunkDelta } from '../../api/wire/chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { SseEvent } from '../../stream/sse-decoder.js';
import type { StreamPart } from '../../stream/stream-part.js';
import type { StreamMapper, TranslationContext } from '../provider.js';
import { parseAnthropicStreamError } from './errors.js';
import { jsonResponseMode, jsonResponseToolName } from './json-response.js';
import { mapAnthropicStopReason } from './stop-reason.js';
import { mergeAnthropicUsage, usageFromAnthropic } from './usage.js';
import type { AnthropicResponseBlock, AnthropicStreamEvent, AnthropicUsage } from './wire.js';

/** What one open content block (by Anthropic's block index) turns into. */
interface OpenBlock {
  kind: 'text' | 'tool' | 'json' | 'thinking' | 'other';
  /** Dense tool-call index, for `tool` blocks. */
  toolIndex: number;
  hasOutput: boolean;
  thinking: string;
  signature: string;
}

function delta(value: ChunkDelta): StreamPart {
  return { type: 'delta', delta: value };
}

/**
 * Maps Messages API stream events to stream parts, parsing each event once.
 *
 * - `message_start` is held back (its id rides on the first real part) so that a stream whose first
 *   real event is an `error` can still fall back (SPEC §5.4).
 * - Tool blocks get a dense tool index; the first fragment carries id and name, later ones only
 *   argument pieces, and a call that streamed no arguments gets `{}`.
 * - Thinking text streams as `delta.reasoning`; the block's signature (`signature_delta`, sent just
 *   before `content_block_stop`) completes one `delta.reasoning_details` entry with the full text.
 * - Usage from `message_start` and the cumulative `message_delta` goes out once, at `message_stop`
 *   (or before an in-band error, so a failure after output is billed for what was produced).
 * - A stream that ends without `message_stop` broke off: `upstream_error`.
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 */
export function createAnthropicStreamMapper(context: TranslationContext): StreamMapper {
  const providerName = context.target.provider.name;
  const isJsonResponse = jsonResponseMode(context.request, context.target) === 'tool';
  const blocks = new Map<number, OpenBlock>();
  let toolCount = 0;
  let upstreamId: string | undefined;
  let usage: AnthropicUsage | undefined;
  let hasEmitted = false;
  let isUsageSent = false;
  let isDone = false;

  const emit = (parts: StreamPart[]): StreamPart[] => {
    if (parts.length > 0 && !hasEmitted) {
      hasEmitted = true;
      if (upstreamId !== undefined) parts.unshift({ type: 'metadata', upstreamId });
    }
    return parts;
  };
  const usageParts = (): StreamPart[] => {
    if (!usage || isUsageSent) return [];
    isUsageSent = true;
    return [{ type: 'usage', usage: usageFromAnthropic(usage) }];
  };
  const fail = (error: GatewayError): StreamPart[] => {
    isDone = true;
    return hasEmitted ? [...usageParts(), { type: 'error', error }] : [{ type: 'error', error }];
  };
  const invalid = () => new GatewayError('upstream_invalid_response', { provider: providerName });

  function startBlock(index: number, block: AnthropicResponseBlock): StreamPart[] {
    const open: OpenBlock = { kind: 'other', toolIndex: -1, hasOutput: false, thinking: '', signature: '' };
    blocks.set(index, open);
    if (block.type === 'text') {
      open.kind = 'text';
      const text = String(block.text ?? '');
      return text ? [delta({ content: text })] : [];
    }
    if (block.type === 'thinking') {
      open.kind = 'thinking';
      open.thinking = String(block.thinking ?? '');
      open.signature = typeof block.signature === 'string' ? block.signature : '';
      return open.thinking ? [delta({ reasoning: open.thinking })] : [];
    }
    if (block.type === 'redacted_thinking') {
      return [
        delta({ reasoning_details: [{ type: 'reasoning.encrypted', data: String(block.data ?? '') }] }),
      ];
    }
    if (block.type !== 'tool_use') return [];
    if (isJsonResponse && block.name === jsonResponseToolName) {
      open.kind = 'json';
      return [];
    }
    open.kind = 'tool';
    open.toolIndex = toolCount++;
    const input = block.input;
    const hasInput = typeof input === 'object' && input !== null && Object.keys(input).length > 0;
    open.hasOutput = hasInput;
    const id = String(block.id ?? '');
    const name = String(block.name ?? '');
    const argumentsText = hasInput ? JSON.stringify(input) : '';
    return [
      delta({
        tool_calls: [
          { index: open.toolIndex, id, type: 'function', function: { name, arguments: argumentsText } },
        ],
      }),
    ];
  }

  function blockDelta(open: OpenBlock | undefined, value: Record<string, unknown>): StreamPart[] {
    if (!open) return [];
    switch (value.type) {
      case 'text_delta': {
        const text = String(value.text ?? '');
        return open.kind === 'text' && text ? [delta({ content: text })] : [];
      }
      case 'input_json_delta': {
        const piece = String(value.partial_json ?? '');
        if (!piece) return [];
        open.hasOutput = true;
        if (open.kind === 'json') return [delta({ content: piece })];
        if (open.kind !== 'tool') return [];
        return [delta({ tool_calls: [{ index: open.toolIndex, function: { arguments: piece } }] })];
      }
      case 'thinking_delta': {
        const text = String(value.thinking ?? '');
        if (open.kind !== 'thinking' || !text) return [];
        open.thinking += text;
        return [delta({ reasoning: text })];
      }
      case 'signature_delta':
        open.signature += String(value.signature ?? '');
        return [];
      default:
        return [];
    }
  }

  function stopBlock(index: number): StreamPart[] {
    const open = blocks.get(index);
    blocks.delete(index);
    if (!open) return [];
    if (open.kind === 'thinking') {
      return [
        delta({
          reasoning_details: [
            { type: 'reasoning.text', text: open.thinking, signature: open.signature || null },
          ],
        }),
      ];
    }
    if (open.hasOutput) return [];
    if (open.kind === 'tool') {
      return [delta({ tool_calls: [{ index: open.toolIndex, function: { arguments: '{}' } }] })];
    }
    return open.kind === 'json' ? [delta({ content: '{}' })] : [];
  }

  return {
    map(event: SseEvent): StreamPart[] {
      if (isDone) return [];
      let data: AnthropicStreamEvent;
      try {
        data = JSON.parse(event.data) as AnthropicStreamEvent;
      } catch {
        return fail(invalid());
      }
      if (data === null || typeof data !== 'object') return fail(invalid());
      switch (data.type) {
        case 'message_start':
          upstreamId = typeof data.message?.id === 'string' ? data.message.id : undefined;
          usage = data.message?.usage ? { ...data.message.usage } : undefined;
          return [];
        case 'content_block_start':
          return emit(startBlock(data.index, data.content_block ?? { type: 'other' }));
        case 'content_block_delta':
          return emit(blockDelta(blocks.get(data.index), (data.delta ?? {}) as Record<string, unknown>));
        case 'content_block_stop':
          return emit(stopBlock(data.index));
        case 'message_delta': {
          if (data.usage) usage = mergeAnthropicUsage(usage ?? {}, data.usage);
          const stopReason = data.delta?.stop_reason;
          if (!stopReason) return [];
          const finishReason = mapAnthropicStopReason(stopReason, {
            isJsonResponse,
            hasToolCalls: toolCount > 0,
          });
          return emit([{ type: 'finish', finishReason }]);
        }
        case 'message_stop':
          isDone = true;
          return emit(usageParts());
        case 'error':
          return fail(parseAnthropicStreamError(data.error, providerName));
        default:
          // `ping`, and event types Anthropic may add under the same API version.
          return [];
      }
    },
    end(): StreamPart[] {
      if (isDone) return [];
      return fail(
        new GatewayError('upstream_error', {
          provider: providerName,
          upstreamMessage: 'the stream ended before message_stop',
        }),
      );
    },
  };
}
