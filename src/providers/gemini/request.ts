import type { ChatCompletionRequest, FunctionTool, ReasoningEffort } from '../../api/wire/chat.js';
import type { UpstreamRequest, UpstreamTarget } from '../provider.js';
import { toGeminiPrompt } from './contents.js';
import { toGeminiParameters } from './function-schema.js';
import {
  type GeminiFunctionDeclaration,
  type GeminiGenerationConfig,
  type GeminiRequest,
  type GeminiThinkingConfig,
  geminiApiVersion,
} from './wire.js';

/** `thinkingBudget` per effort, the same map as Anthropic's `budget_tokens` (SPEC §4). */
const thinkingBudgetByEffort: Record<ReasoningEffort, number> = {
  none: 0,
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24576,
};

type DroppableParameter =
  | 'temperature'
  | 'top_p'
  | 'frequency_penalty'
  | 'presence_penalty'
  | 'seed'
  | 'stop'
  | 'reasoning';

/** The catalog's `supported_parameters` switches parameters off when it lists others (SPEC §4). */
function isSupported(target: UpstreamTarget, name: DroppableParameter): boolean {
  const supported = target.model.supportedParameters;
  return supported === undefined || supported.includes(name);
}

function toThinkingConfig(request: ChatCompletionRequest): GeminiThinkingConfig | undefined {
  const reasoning = request.reasoning;
  const effort =
    reasoning?.effort ?? request.reasoning_effort ?? (reasoning?.enabled === false ? 'none' : undefined);
  if (reasoning === undefined && effort === undefined) return undefined;
  const budget = reasoning?.max_tokens ?? (effort === undefined ? undefined : thinkingBudgetByEffort[effort]);
  const config: GeminiThinkingConfig = {};
  if (budget !== undefined) config.thinkingBudget = budget;
  // Thought summaries only exist while thinking is on.
  if (budget !== 0) config.includeThoughts = reasoning?.exclude !== true;
  return config;
}

function toGenerationConfig(request: ChatCompletionRequest, target: UpstreamTarget): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  if (request.temperature !== undefined && isSupported(target, 'temperature')) {
    config.temperature = request.temperature;
  }
  if (request.top_p !== undefined && isSupported(target, 'top_p')) config.topP = request.top_p;
  if (request.stop !== undefined && request.stop !== null && isSupported(target, 'stop')) {
    config.stopSequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  }
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens !== undefined) config.maxOutputTokens = maxTokens;
  if (request.seed !== undefined && isSupported(target, 'seed')) config.seed = request.seed;
  if (request.presence_penalty !== undefined && isSupported(target, 'presence_penalty')) {
    config.presencePenalty = request.presence_penalty;
  }
  if (request.frequency_penalty !== undefined && isSupported(target, 'frequency_penalty')) {
    config.frequencyPenalty = request.frequency_penalty;
  }
  const format = request.response_format;
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    // responseJsonSchema takes JSON Schema as a free-form value; `strict` has no equivalent.
    if (format.type === 'json_schema' && format.json_schema.schema) {
      config.responseJsonSchema = format.json_schema.schema;
    }
  }
  if (isSupported(target, 'reasoning')) {
    const thinkingConfig = toThinkingConfig(request);
    if (thinkingConfig) config.thinkingConfig = thinkingConfig;
  }
  return config;
}

function toFunctionDeclaration(tool: FunctionTool): GeminiFunctionDeclaration {
  const declaration: GeminiFunctionDeclaration = { name: tool.function.name };
  if (tool.function.description) declaration.description = tool.function.description;
  const parameters = toGeminiParameters(tool.function.parameters);
  if (parameters) declaration.parameters = parameters;
  return declaration;
}

/**
 * Builds the `generateContent` body (SPEC §4, Gemini column). Everything is translated field by
 * field, so what the table drops (`user`, `logit_bias`, `logprobs`, `parallel_tool_calls`,
 * `json_schema.strict`, `n`, unknown keys…) simply never appears.
 */
export function toGeminiBody(request: ChatCompletionRequest, target: UpstreamTarget): GeminiRequest {
  const prompt = toGeminiPrompt(request.messages, target.model.upstreamModel);
  const body: GeminiRequest = { contents: prompt.contents };
  if (prompt.systemInstruction) body.systemInstruction = prompt.systemInstruction;
  const functions = (request.tools ?? []).filter((tool): tool is FunctionTool => tool.type === 'function');
  if (functions.length > 0) {
    body.tools = [{ functionDeclarations: functions.map(toFunctionDeclaration) }];
    const choice = request.tool_choice;
    if (choice === 'auto') body.toolConfig = { functionCallingConfig: { mode: 'AUTO' } };
    else if (choice === 'none') body.toolConfig = { functionCallingConfig: { mode: 'NONE' } };
    else if (choice === 'required') body.toolConfig = { functionCallingConfig: { mode: 'ANY' } };
    else if (typeof choice === 'object') {
      body.toolConfig = {
        functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] },
      };
    }
  }
  const generationConfig = toGenerationConfig(request, target);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  return body;
}

/**
 * `POST {baseUrl}/v1beta/models/{model}:generateContent`, or `:streamGenerateContent?alt=sse`. The
 * key goes in `x-goog-api-key`, never in the URL (URLs end up in logs); the client's own
 * Authorization is never forwarded.
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
export function buildGeminiRequest(request: ChatCompletionRequest, target: UpstreamTarget): UpstreamRequest {
  const model = encodeURIComponent(target.model.upstreamModel);
  const base = `${target.provider.baseUrl}/${geminiApiVersion}/models/${model}`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: request.stream ? 'text/event-stream' : 'application/json',
  };
  if (target.provider.apiKey) headers['x-goog-api-key'] = target.provider.apiKey;
  return {
    method: 'POST',
    url: request.stream ? `${base}:streamGenerateContent?alt=sse` : `${base}:generateContent`,
    headers,
    body: JSON.stringify(toGeminiBody(request, target)),
  };
}
