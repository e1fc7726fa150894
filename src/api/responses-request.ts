import { GatewayError, invalidType, invalidValue, missingParameter } from '../errors/gateway-error.js';
import type { ChatCompletionRequest, ChatMessage, ContentPart, FunctionTool, ToolCall } from './wire/chat.js';
import type { CreateResponseRequest, InputItem, InputPart } from './wire/responses.js';

/**
 * Provider-independent rules of SPEC §12.1 the schema cannot say (SPEC §9.3 step 8): `background`
 * needs `store`, `conversation` and `prompt` are not supported, managed tools are rejected.
 */
export function checkCreateResponse(body: CreateResponseRequest): void {
  for (const param of ['conversation', 'prompt'] as const) {
    if (body[param] !== undefined && body[param] !== null) {
      throw new GatewayError(
        'unsupported_parameter',
        { reason: `Unsupported parameter: '${param}' is not supported by this gateway.` },
        { param },
      );
    }
  }
  if (body.background === true && body.store === false) {
    throw invalidValue('background', 'background responses require store to be true');
  }
  body.tools?.forEach((tool, index) => {
    if (tool.type !== 'function') {
      throw new GatewayError(
        'unsupported_parameter',
        { reason: 'managed tools are not yet supported' },
        { param: `tools[${index}]` },
      );
    }
  });
}

function stringField(item: Record<string, unknown>, name: string, path: string): string {
  const value = item[name];
  if (value === undefined || value === null) throw missingParameter(`${path}.${name}`);
  if (typeof value !== 'string') throw invalidType(`${path}.${name}`, 'a string');
  return value;
}

const imageUrlPattern = /^(https?:\/\/|data:image\/)/;

/** One input part as a chat content part; which parts a role may carry is checked here. */
function toChatPart(part: InputPart, role: string, path: string): ContentPart {
  if (typeof part !== 'object' || part === null) throw invalidType(path, 'an object');
  const record = part as unknown as Record<string, unknown>;
  const type = record.type;
  if (type === 'input_text' || (role === 'assistant' && type === 'output_text')) {
    return { type: 'text', text: stringField(record, 'text', path) };
  }
  if (role === 'assistant' && type === 'refusal') {
    return { type: 'refusal', refusal: stringField(record, 'refusal', path) };
  }
  if (role === 'user' && type === 'input_image') {
    if (typeof record.image_url !== 'string') {
      if (typeof record.file_id === 'string') {
        throw invalidValue(`${path}.file_id`, 'file ids are not supported; send image_url');
      }
      throw missingParameter(`${path}.image_url`);
    }
    if (!imageUrlPattern.test(record.image_url)) {
      throw invalidValue(`${path}.image_url`, 'must be an https URL or a data:image/ URL');
    }
    const detail = record.detail;
    if (detail !== undefined && detail !== 'auto' && detail !== 'low' && detail !== 'high') {
      throw invalidValue(`${path}.detail`, 'must be one of "auto", "low", "high"');
    }
    return {
      type: 'image_url',
      image_url: { url: record.image_url, ...(detail === undefined ? {} : { detail }) },
    };
  }
  if (role === 'user' && type === 'input_file') {
    const file: { file_data?: string; file_id?: string; filename?: string } = {};
    if (typeof record.file_data === 'string') file.file_data = record.file_data;
    else if (typeof record.file_id === 'string') file.file_id = record.file_id;
    else throw missingParameter(`${path}.file_data`);
    if (typeof record.filename === 'string') file.filename = record.filename;
    return { type: 'file', file };
  }
  throw invalidValue(`${path}.type`, `unsupported content type for role '${role}'`);
}

const roles = new Set(['user', 'assistant', 'system', 'developer']);

function toChatMessage(item: InputItem, path: string): ChatMessage {
  const role = item.role;
  if (role === undefined) throw missingParameter(`${path}.role`);
  if (typeof role !== 'string' || !roles.has(role)) {
    throw invalidValue(`${path}.role`, 'must be one of "user", "assistant", "system", "developer"');
  }
  const content = item.content;
  if (content === undefined) throw missingParameter(`${path}.content`);
  if (typeof content === 'string') return { role: role as ChatMessage['role'], content };
  if (!Array.isArray(content)) throw invalidType(`${path}.content`, 'a string or an array');
  const parts = content.map((part, index) => toChatPart(part, role, `${path}.content[${index}]`));
  if (role !== 'assistant') return { role: role as ChatMessage['role'], content: parts };
  // Assistant turns go back as plain text plus a refusal, which every provider family accepts.
  let text = '';
  let refusal: string | null = null;
  for (const part of parts) {
    if (part.type === 'text') text += part.text;
    else if (part.type === 'refusal') refusal = (refusal ?? '') + part.refusal;
  }
  return { role: 'assistant', content: text, ...(refusal === null ? {} : { refusal }) };
}

function toolOutputOf(item: InputItem, path: string): string {
  const output = item.output;
  if (output === undefined || output === null) throw missingParameter(`${path}.output`);
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) throw invalidType(`${path}.output`, 'a string or an array');
  return output
    .map((part, index) => {
      if (part?.type !== 'input_text') {
        throw invalidValue(`${path}.output[${index}].type`, 'only input_text parts are supported');
      }
      return part.text;
    })
    .join('');
}

/**
 * Input items as chat messages (SPEC §12.1): messages keep their role; consecutive `function_call`
 * items become one assistant message with `tool_calls`; `function_call_output` items become `tool`
 * messages; `reasoning` items are dropped; anything else is 400 `invalid_value` on `input[i]`.
 */
export function toChatMessages(input: string | InputItem[]): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const messages: ChatMessage[] = [];
  let openCalls: ToolCall[] | undefined;
  input.forEach((item, index) => {
    const path = `input[${index}]`;
    const type = item.type ?? 'message';
    if (type !== 'function_call') openCalls = undefined;
    switch (type) {
      case 'message':
        messages.push(toChatMessage(item, path));
        return;
      case 'function_call': {
        const call: ToolCall = {
          id: stringField(item, 'call_id', path),
          type: 'function',
          function: {
            name: stringField(item, 'name', path),
            arguments: stringField(item, 'arguments', path),
          },
        };
        if (openCalls) openCalls.push(call);
        else {
          openCalls = [call];
          messages.push({ role: 'assistant', content: null, tool_calls: openCalls });
        }
        return;
      }
      case 'function_call_output':
        messages.push({
          role: 'tool',
          tool_call_id: stringField(item, 'call_id', path),
          content: toolOutputOf(item, path),
        });
        return;
      case 'reasoning':
        return;
      default:
        throw invalidValue(path, `unsupported input item type '${String(type)}'`);
    }
  });
  return messages;
}

function toChatTools(body: CreateResponseRequest): FunctionTool[] | undefined {
  if (!body.tools || body.tools.length === 0) return undefined;
  return body.tools.map((tool) => {
    const { name, description, parameters, strict } = tool as Record<string, unknown>;
    const definition: FunctionTool['function'] = { name: name as string };
    if (typeof description === 'string') definition.description = description;
    if (parameters !== undefined && parameters !== null)
      definition.parameters = parameters as Record<string, unknown>;
    if (typeof strict === 'boolean') definition.strict = strict;
    return { type: 'function', function: definition };
  });
}

function toChatToolChoice(body: CreateResponseRequest): ChatCompletionRequest['tool_choice'] {
  const choice = body.tool_choice;
  if (choice === undefined || typeof choice === 'string') return choice;
  if (choice.type === 'function' && typeof choice.name === 'string') {
    return { type: 'function', function: { name: choice.name } };
  }
  throw invalidValue('tool_choice', 'must be "none", "auto", "required" or a function tool choice');
}

/**
 * The chat request a Responses request amounts to (SPEC §12.1): `instructions` as the leading system
 * message, then `history` (an earlier turn's chain) and this turn's input; sampling, reasoning,
 * format and tools mapped; gateway fields (`models`, `tags`, `trace`, `metadata`, `store`) kept for
 * the pipeline. Echo-only and ignored fields are not sent.
 */
export function toChatRequest(
  body: CreateResponseRequest,
  conversation: ChatMessage[],
  isStream: boolean,
): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  if (typeof body.instructions === 'string' && body.instructions.length > 0) {
    messages.push({ role: 'system', content: body.instructions });
  }
  messages.push(...conversation);
  if (messages.length === 0) throw invalidValue('input', 'must contain at least one message');
  const request: ChatCompletionRequest = { model: body.model, messages, stream: isStream };
  if (body.max_output_tokens != null) request.max_completion_tokens = body.max_output_tokens;
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.top_p = body.top_p;
  for (const name of ['user', 'safety_identifier', 'prompt_cache_key', 'service_tier'] as const) {
    if (body[name] !== undefined) request[name] = body[name];
  }
  if (body.reasoning?.effort) request.reasoning = { effort: body.reasoning.effort };
  const format = body.text?.format;
  if (format?.type === 'json_schema') {
    request.response_format = {
      type: 'json_schema',
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.description === undefined ? {} : { description: format.description }),
        ...(format.strict === undefined ? {} : { strict: format.strict }),
      },
    };
  } else if (format) request.response_format = { type: format.type };
  const tools = toChatTools(body);
  if (tools) request.tools = tools;
  const toolChoice = toChatToolChoice(body);
  if (toolChoice !== undefined) request.tool_choice = toolChoice;
  if (body.models) request.models = body.models;
  if (body.tags) request.tags = body.tags;
  if (body.trace) request.trace = body.trace;
  if (body.metadata) request.metadata = body.metadata;
  request.store = body.store !== false;
  return request;
}
