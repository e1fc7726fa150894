import { GatewayError, invalidValue } from '../errors/gateway-error.js';
import type { CatalogModel } from '../routing/model-catalog.js';
import type { ChatCompletionRequest } from './wire/chat.js';

const maxMetadataBytes = 16 * 1024;
const maxTraceBytes = 4 * 1024;

/** Provider-independent rules the schema cannot express (SPEC §3.1, §9.3 step 8). */
export function checkChatCompletionRequest(request: ChatCompletionRequest): void {
  if (request.n !== undefined && request.n > 1) {
    throw new GatewayError('unsupported_parameter', { reason: 'Only n=1 is supported.' }, { param: 'n' });
  }
  if (request.top_logprobs !== undefined && request.logprobs !== true) {
    throw invalidValue('top_logprobs', 'requires logprobs to be true');
  }
  const toolChoice = request.tool_choice;
  if (toolChoice !== undefined && typeof toolChoice === 'object') {
    const name = toolChoice.function.name;
    const exists = (request.tools ?? []).some(
      (tool) =>
        tool.type === 'function' && (tool as { function?: { name?: string } }).function?.name === name,
    );
    if (!exists) throw invalidValue('tool_choice', `no tool named '${name}' in tools`);
  }
  if (toolChoice === 'required' && (request.tools ?? []).length === 0) {
    throw invalidValue('tool_choice', "'required' needs at least one tool");
  }
  if (
    request.metadata !== undefined &&
    Buffer.byteLength(JSON.stringify(request.metadata)) > maxMetadataBytes
  ) {
    throw invalidValue('metadata', `must be at most ${maxMetadataBytes} bytes`);
  }
  if (request.trace !== undefined && Buffer.byteLength(JSON.stringify(request.trace)) > maxTraceBytes) {
    throw invalidValue('trace', `must be at most ${maxTraceBytes} bytes`);
  }
  request.models?.forEach((model, index) => {
    if (/^maniac[/:]/i.test(model))
      throw invalidValue(`models[${index}]`, 'fallbacks must be catalog ids, not containers');
  });
}

/** Rules that depend on the candidate model, checked for every fallback candidate (SPEC §3.2, §5.1). */
export function checkCandidateModel(
  request: ChatCompletionRequest,
  model: CatalogModel,
  api: 'chat' | 'responses',
): void {
  if (!model.supportedApis.includes(api))
    throw invalidValue('model', `'${model.id}' does not support this API`);
  if (model.inputModalities.includes('image')) return;
  request.messages.forEach((message, messageIndex) => {
    if (!Array.isArray(message.content)) return;
    message.content.forEach((part, partIndex) => {
      if (part.type === 'image_url') {
        throw invalidValue(
          `messages[${messageIndex}].content[${partIndex}]`,
          `'${model.id}' does not accept images`,
        );
      }
    });
  });
}
