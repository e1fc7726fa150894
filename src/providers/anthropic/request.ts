import type { ChatCompletionRequest, FunctionTool, ToolChoice } from '../../api/wire/chat.js';
import type { UpstreamRequest, UpstreamTarget } from '../provider.js';
import { jsonResponseMode, jsonResponseTool, jsonResponseToolName } from './json-response.js';
import { noMessageLeft, toAnthropicMessages } from './messages.js';
import { maxTokensFor, thinkingBudgetFor } from './thinking.js';
import {
  type AnthropicRequest,
  type AnthropicTool,
  type AnthropicToolChoice,
  anthropicVersion,
} from './wire.js';

/**
 * SPEC §4 preamble: a catalog entry that lists `supported_parameters` switches off the droppable
 * parameters it leaves out (for instance `top_p` on models that take only one sampling parameter).
 */
export function isParameterSent(target: UpstreamTarget, parameter: string): boolean {
  const supported = target.model.supportedParameters;
  return !supported || supported.includes(parameter);
}

function toAnthropicTool(tool: FunctionTool, isStrictAllowed: boolean): AnthropicTool {
  const out: AnthropicTool = {
    name: tool.function.name,
    input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
  };
  if (tool.function.description !== undefined) out.description = tool.function.description;
  if (tool.function.strict === true && isStrictAllowed) out.strict = true;
  return out;
}

/**
 * auto → `auto`, required → `any`, none → `none`, named → `tool`; `parallel_tool_calls: false` →
 * `disable_parallel_tool_use` (which `none` does not take).
 * @see https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use
 */
function toAnthropicToolChoice(
  choice: ToolChoice | undefined,
  isParallelDisabled: boolean,
): AnthropicToolChoice | undefined {
  if (choice === 'none') return { type: 'none' };
  // Anthropic's default is auto; it is only spelled out when asked for or to carry the parallel flag.
  if (choice === undefined && !isParallelDisabled) return undefined;
  const out: Exclude<AnthropicToolChoice, { type: 'none' }> =
    choice === undefined || choice === 'auto'
      ? { type: 'auto' }
      : choice === 'required'
        ? { type: 'any' }
        : { type: 'tool', name: choice.function.name };
  if (isParallelDisabled) out.disable_parallel_tool_use = true;
  return out;
}

/**
 * The Messages API body. It is built from named fields only, so unknown top-level keys and the
 * parameters SPEC §4 drops for Anthropic (penalties, seed, logit_bias, logprobs, service_tier,
 * prompt_cache_key, verbosity, prediction, message `name`, `json_schema.strict`) never reach it.
 */
export function toAnthropicRequest(request: ChatCompletionRequest, target: UpstreamTarget): AnthropicRequest {
  const { system, messages } = toAnthropicMessages(request.messages);
  if (messages.length === 0) throw noMessageLeft();
  const budget = thinkingBudgetFor(request, target);
  const body: AnthropicRequest = {
    model: target.model.upstreamModel,
    max_tokens: maxTokensFor(request, target, budget),
    messages,
  };
  if (system.length > 0) body.system = system;
  const stop = request.stop;
  if (stop !== undefined && stop !== null && isParameterSent(target, 'stop')) {
    const sequences = typeof stop === 'string' ? [stop] : stop;
    if (sequences.length > 0) body.stop_sequences = sequences;
  }
  if (request.temperature !== undefined && isParameterSent(target, 'temperature')) {
    body.temperature = request.temperature;
  }
  if (request.top_p !== undefined && isParameterSent(target, 'top_p')) body.top_p = request.top_p;
  if (request.user !== undefined) body.metadata = { user_id: request.user };

  const hasStructuredOutputs = target.model.supportedParameters?.includes('structured_outputs') === true;
  const functionTools = (request.tools ?? []).filter(
    (tool): tool is FunctionTool => tool.type === 'function',
  );
  if (functionTools.length > 0) {
    body.tools = functionTools.map((tool) => toAnthropicTool(tool, hasStructuredOutputs));
    const choice = toAnthropicToolChoice(request.tool_choice, request.parallel_tool_calls === false);
    if (choice) body.tool_choice = choice;
  }
  const format = request.response_format;
  const jsonMode = jsonResponseMode(request, target);
  if (jsonMode === 'native' && format?.type === 'json_schema' && format.json_schema.schema) {
    body.output_config = { format: { type: 'json_schema', schema: format.json_schema.schema } };
  } else if (jsonMode === 'tool' && format) {
    body.tools = [jsonResponseTool(format)];
    body.tool_choice = { type: 'tool', name: jsonResponseToolName };
  }
  if (budget !== undefined) body.thinking = { type: 'enabled', budget_tokens: budget };
  if (request.stream) body.stream = true;
  return body;
}

/** `POST {baseUrl}/v1/messages` with the provider key as `x-api-key`; the client's key never goes. */
export function buildAnthropicRequest(
  request: ChatCompletionRequest,
  target: UpstreamTarget,
): UpstreamRequest {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: request.stream ? 'text/event-stream' : 'application/json',
    'anthropic-version': anthropicVersion,
  };
  if (target.provider.apiKey) headers['x-api-key'] = target.provider.apiKey;
  return {
    method: 'POST',
    url: `${target.provider.baseUrl}/v1/messages`,
    headers,
    body: JSON.stringify(toAnthropicRequest(request, target)),
  };
}
