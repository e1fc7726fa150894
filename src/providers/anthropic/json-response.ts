import type { ChatCompletionRequest, ResponseFormat } from '../../api/wire/chat.js';
import type { UpstreamTarget } from '../provider.js';
import type { AnthropicTool } from './wire.js';

export const jsonResponseToolName = 'json_response';

/**
 * How `response_format` json reaches Anthropic (SPEC §4): `native` is `output_config.format`, GA under
 * the pinned API version but only on models whose catalog entry lists `structured_outputs` and only
 * for a `json_schema` with a schema (Anthropic needs closed object schemas, which `json_object` cannot
 * give); otherwise a forced synthetic tool whose input is the answer.
 * @see https://platform.claude.com/docs/en/build-with-claude/structured-outputs
 */
export type JsonResponseMode = 'none' | 'native' | 'tool';

export function jsonResponseMode(request: ChatCompletionRequest, target: UpstreamTarget): JsonResponseMode {
  const format = request.response_format;
  if (!format || format.type === 'text') return 'none';
  if (
    format.type === 'json_schema' &&
    format.json_schema.schema !== undefined &&
    target.model.supportedParameters?.includes('structured_outputs')
  ) {
    return 'native';
  }
  return 'tool';
}

export function jsonResponseTool(format: ResponseFormat): AnthropicTool {
  const jsonSchema = format.type === 'json_schema' ? format.json_schema : undefined;
  return {
    name: jsonResponseToolName,
    description: jsonSchema?.description ?? 'Respond with a JSON object.',
    input_schema: jsonSchema?.schema ?? { type: 'object' },
  };
}
