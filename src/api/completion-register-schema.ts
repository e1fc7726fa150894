/**
 * The body of POST /v1/chat/completions/register (SPEC §11.1), checked item by item so that a bad
 * item is named exactly (`items[3].input.messages`) with 400 `invalid_value`.
 */

import { invalidType, invalidValue, missingParameter } from '../errors/gateway-error.js';
import type { EventTrace, EventUsage } from '../store/repositories.js';
import { bodyObject, isJsonObject, type JsonObject, requiredString } from './platform-schemas.js';
import { type ChatCompletion, type FinishReason, gatewayOnlyFields } from './wire/chat.js';

export const maxRegisterItems = 5_000;

const messageRoles = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const finishReasons = new Set<FinishReason>([
  'stop',
  'length',
  'tool_calls',
  'content_filter',
  'function_call',
]);
const traceKeys = new Set(['id', 'span_id', 'parent_span_id', 'name', 'source']);

export type RegisteredChoice = ChatCompletion['choices'][number];

export interface RegisterOutput {
  choices: RegisteredChoice[];
  model?: string;
  usage?: EventUsage;
}

export interface RegisterItem {
  /** The item's `input` minus {@link gatewayOnlyFields}. */
  input: JsonObject;
  /** `input.model`, when given. */
  model: string | undefined;
  tags: string[];
  metadata: Record<string, unknown> | null;
  trace: EventTrace | null;
  output: RegisterOutput | undefined;
}

export interface RegisterRequest {
  container: string;
  items: RegisterItem[];
}

/** A copy of a chat request body without the gateway-only fields; other values pass unchanged. */
export function withoutGatewayFields(body: unknown): unknown {
  if (!isJsonObject(body)) return body;
  const copy: JsonObject = {};
  for (const [key, value] of Object.entries(body))
    if (!(gatewayOnlyFields as readonly string[]).includes(key)) copy[key] = value;
  return copy;
}

function check(condition: boolean, param: string, reason: string): void {
  if (!condition) throw invalidValue(param, reason);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function parseMessages(value: unknown, param: string): void {
  check(Array.isArray(value) && value.length > 0, param, 'must be a non-empty array of messages');
  (value as unknown[]).forEach((message, index) => {
    const at = `${param}[${index}]`;
    check(isJsonObject(message), at, 'must be a message object');
    const { role, content } = message as JsonObject;
    check(typeof role === 'string' && messageRoles.has(role), `${at}.role`, 'must be a chat message role');
    check(
      content === undefined || content === null || typeof content === 'string' || Array.isArray(content),
      `${at}.content`,
      'must be a string, an array of parts or null',
    );
  });
}

function parseTrace(value: unknown, param: string): EventTrace | null {
  if (value === undefined) return null;
  check(
    isJsonObject(value) && typeof (value as JsonObject).id === 'string',
    param,
    "must be an object with a string 'id'",
  );
  const trace: EventTrace = { id: (value as { id: string }).id };
  const context: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as JsonObject)) {
    if (traceKeys.has(key)) (trace as Record<string, unknown>)[key] = item;
    else context[key] = item;
  }
  if (Object.keys(context).length > 0) trace.trace_context = context;
  return trace;
}

function parseUsage(value: unknown, param: string): EventUsage | undefined {
  if (value === undefined || value === null) return undefined;
  check(isJsonObject(value), param, 'must be an object');
  const usage = value as JsonObject;
  check(
    isCount(usage.prompt_tokens) && isCount(usage.completion_tokens),
    param,
    'must count prompt_tokens and completion_tokens',
  );
  const details = (key: string, field: string) => {
    const inner = usage[key];
    const count = isJsonObject(inner) ? inner[field] : undefined;
    return isCount(count) ? count : 0;
  };
  const prompt = usage.prompt_tokens as number;
  const completion = usage.completion_tokens as number;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: isCount(usage.total_tokens) ? usage.total_tokens : prompt + completion,
    cached_tokens: details('prompt_tokens_details', 'cached_tokens'),
    cache_write_tokens: details('prompt_tokens_details', 'cache_write_tokens'),
    reasoning_tokens: details('completion_tokens_details', 'reasoning_tokens'),
  };
}

function parseChoice(value: unknown, index: number, param: string): RegisteredChoice {
  check(isJsonObject(value), param, 'must be a choice object');
  const choice = value as JsonObject;
  const message = choice.message;
  check(isJsonObject(message), `${param}.message`, 'must be a message object');
  const { role, content, refusal, tool_calls: toolCalls, ...rest } = message as JsonObject;
  check(role === undefined || role === 'assistant', `${param}.message.role`, "must be 'assistant'");
  check(
    content === undefined || content === null || typeof content === 'string',
    `${param}.message.content`,
    'must be a string or null',
  );
  check(
    toolCalls === undefined || Array.isArray(toolCalls),
    `${param}.message.tool_calls`,
    'must be an array',
  );
  const finishReason = choice.finish_reason;
  check(
    finishReason === undefined || finishReason === null || finishReasons.has(finishReason as FinishReason),
    `${param}.finish_reason`,
    'must be a chat finish reason',
  );
  const hasToolCalls = Array.isArray(toolCalls) && toolCalls.length > 0;
  return {
    index,
    finish_reason:
      (finishReason as FinishReason | null | undefined) ?? (hasToolCalls ? 'tool_calls' : 'stop'),
    logprobs: null,
    message: {
      ...rest,
      role: 'assistant',
      content: (content as string | null | undefined) ?? null,
      refusal: typeof refusal === 'string' ? refusal : null,
      ...(hasToolCalls ? { tool_calls: toolCalls as RegisteredChoice['message']['tool_calls'] } : {}),
    },
  };
}

function parseOutput(value: unknown, param: string): RegisterOutput | undefined {
  if (value === undefined || value === null) return undefined;
  check(isJsonObject(value), param, 'must be an object');
  const output = value as JsonObject;
  check(
    Array.isArray(output.choices) && output.choices.length > 0,
    `${param}.choices`,
    'must be a non-empty array',
  );
  const choices = (output.choices as unknown[]).map((choice, index) =>
    parseChoice(choice, index, `${param}.choices[${index}]`),
  );
  check(output.model === undefined || typeof output.model === 'string', `${param}.model`, 'must be a string');
  const usage = parseUsage(output.usage, `${param}.usage`);
  return {
    choices,
    ...(typeof output.model === 'string' ? { model: output.model } : {}),
    ...(usage ? { usage } : {}),
  };
}

function parseItem(value: unknown, param: string): RegisterItem {
  check(isJsonObject(value), param, 'must be an object');
  const item = value as JsonObject;
  const input = item.input;
  check(isJsonObject(input), `${param}.input`, 'must be a chat request object');
  const request = input as JsonObject;
  parseMessages(request.messages, `${param}.input.messages`);
  const model = request.model;
  check(
    model === undefined || (typeof model === 'string' && model.length > 0),
    `${param}.input.model`,
    'must be a non-empty string',
  );
  const tags = request.tags;
  check(
    tags === undefined ||
      (Array.isArray(tags) &&
        tags.length <= 32 &&
        tags.every((tag) => typeof tag === 'string' && tag.length > 0 && tag.length <= 64)),
    `${param}.input.tags`,
    'must be at most 32 strings of 1 to 64 characters',
  );
  const metadata = request.metadata;
  check(
    metadata === undefined ||
      metadata === null ||
      (isJsonObject(metadata) &&
        Object.keys(metadata).length <= 64 &&
        Object.keys(metadata).every((key) => key.length <= 64)),
    `${param}.input.metadata`,
    'must be an object of at most 64 keys of up to 64 characters',
  );
  return {
    input: withoutGatewayFields(request) as JsonObject,
    model: model as string | undefined,
    tags: (tags as string[] | undefined) ?? [],
    metadata: (metadata as JsonObject | null | undefined) ?? null,
    trace: parseTrace(request.trace, `${param}.input.trace`),
    output: parseOutput(item.output, `${param}.output`),
  };
}

/** `{container, items: [{input, output?}]}` with 1 to 5 000 items, or the first error found. */
export function parseRegisterRequest(rawBody: unknown): RegisterRequest {
  const body = bodyObject(rawBody);
  const container = requiredString(body, 'container');
  const items = body.items;
  if (items === undefined || items === null) throw missingParameter('items');
  if (!Array.isArray(items)) throw invalidType('items', 'an array');
  check(
    items.length >= 1 && items.length <= maxRegisterItems,
    'items',
    `must hold 1 to ${maxRegisterItems} items`,
  );
  return { container, items: items.map((item, index) => parseItem(item, `items[${index}]`)) };
}
