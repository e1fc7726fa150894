import type { ProviderCompletion } from '../providers/provider.js';
import type { ResponseEventWriter } from '../stream/response-event-writer.js';
import type { ChatMessage, ChunkDelta, ReasoningDetail, ToolCall, Usage } from './wire/chat.js';
import type {
  CreateResponseRequest,
  ResponseObject,
  ResponseStatus,
  ResponseUsage,
} from './wire/responses.js';

/**
 * A response as the store keeps it: the wire object plus the vendor's reasoning details (thinking
 * signatures), which a later turn chained with `previous_response_id` must send back (LESSONS 2).
 * They never leave the gateway through this API; {@link toWireResponse} strips them.
 */
export type StoredResponse = ResponseObject & { chat_reasoning_details?: ReasoningDetail[] };

export function toWireResponse(stored: StoredResponse): ResponseObject {
  const { chat_reasoning_details: _details, ...wire } = stored;
  return wire;
}

/** `resp_` + 32 hex (SPEC §12.2), and the item ids, from the injected uuid source. */
export function hexId(prefix: string, uuid: string): string {
  return `${prefix}_${uuid.replace(/-/g, '')}`;
}

export function toResponseUsage(usage: Usage): ResponseUsage {
  const out: ResponseUsage = {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: {
      cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      cache_write_tokens: usage.prompt_tokens_details?.cache_write_tokens ?? 0,
    },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
  if (usage.estimated) out.estimated = true;
  return out;
}

export interface ResponseHead {
  id: string;
  createdAtSeconds: number;
  status: ResponseStatus;
  /** The catalog id (first candidate until one answers, then the one that served). */
  model: string;
  provider: string;
  container: string | undefined;
}

/** A new `Response` with no output; every echoed field comes from the request (SPEC §12.2). */
export function newResponse(body: CreateResponseRequest, head: ResponseHead): ResponseObject {
  const tools = (body.tools ?? []).map((tool) => {
    const { name, description, parameters, strict } = tool as Record<string, unknown>;
    return {
      type: 'function' as const,
      name: name as string,
      ...(typeof description === 'string' ? { description } : {}),
      parameters: (parameters as Record<string, unknown> | null | undefined) ?? null,
      strict: typeof strict === 'boolean' ? strict : null,
    };
  });
  const choice = body.tool_choice;
  const response: ResponseObject = {
    id: head.id,
    object: 'response',
    created_at: head.createdAtSeconds,
    status: head.status,
    background: body.background === true,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: head.model,
    provider: head.provider,
    output: [],
    output_text: '',
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning
      ? { effort: body.reasoning.effort ?? null, summary: body.reasoning.summary ?? null }
      : null,
    store: body.store !== false,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    text: { format: body.text?.format ?? { type: 'text' } },
    tool_choice:
      typeof choice === 'object' && choice.type === 'function'
        ? { type: 'function', name: choice.name as string }
        : ((choice as ResponseObject['tool_choice'] | undefined) ?? 'auto'),
    tools,
    truncation: body.truncation ?? 'disabled',
    metadata: body.metadata ?? {},
  };
  if (head.container !== undefined) response.container = head.container;
  for (const name of ['user', 'safety_identifier', 'prompt_cache_key', 'service_tier'] as const) {
    if (body[name] !== undefined) response[name] = body[name];
  }
  return response;
}

/**
 * The assistant turn a stored response amounts to, in chat form, for `previous_response_id`:
 * message text and refusal, function calls as `tool_calls`, reasoning text with the kept details.
 */
export function assistantMessageOf(stored: StoredResponse): ChatMessage | undefined {
  let text: string | null = null;
  let refusal: string | null = null;
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  for (const item of stored.output) {
    if (item.type === 'message') {
      for (const part of item.content) {
        if (part.type === 'output_text') text = (text ?? '') + part.text;
        else refusal = (refusal ?? '') + part.refusal;
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({
        id: item.call_id,
        type: 'function',
        function: { name: item.name, arguments: item.arguments },
      });
    } else {
      reasoning += item.summary.map((part) => part.text).join('');
    }
  }
  const details = stored.chat_reasoning_details;
  if (text === null && refusal === null && toolCalls.length === 0 && !reasoning && !details) return undefined;
  const message: ChatMessage = { role: 'assistant', content: text };
  if (refusal !== null) message.refusal = refusal;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning) message.reasoning = reasoning;
  if (details && details.length > 0) message.reasoning_details = details;
  return message;
}

/** Feeds a non-streamed answer through the event writer, so both paths build the same items. */
export function writeCompletion(writer: ResponseEventWriter, completion: ProviderCompletion): void {
  const message = completion.message;
  const delta: ChunkDelta = {};
  if (message.reasoning) delta.reasoning = message.reasoning;
  if (message.reasoning_details) delta.reasoning_details = message.reasoning_details;
  if (typeof message.content === 'string') delta.content = message.content;
  if (message.refusal) delta.refusal = message.refusal;
  if (message.tool_calls) {
    delta.tool_calls = message.tool_calls.map((call, index) => ({
      index,
      id: call.id,
      type: 'function',
      function: { name: call.function.name, arguments: call.function.arguments },
    }));
  }
  writer.write({ type: 'delta', delta });
  writer.write({ type: 'finish', finishReason: completion.finishReason });
}

/** The response to store: the wire object plus the reasoning details the writer's stream carried. */
export function toStoredResponse(writer: ResponseEventWriter, response: ResponseObject): StoredResponse {
  const details = writer.normalizer.assembler.message().reasoning_details;
  return details ? { ...response, chat_reasoning_details: details } : response;
}
