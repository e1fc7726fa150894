/**
 * Wire types of the OpenAI Chat Completions API as the gateway speaks it, plus the Maniac extensions
 * (SPEC §3). Hand-written from ../shared/reference/openai-openapi.json (`CreateChatCompletionRequest`,
 * `CreateChatCompletionResponse`, `CreateChatCompletionStreamResponse`); tests validate every shape
 * the gateway emits against those schemas.
 */

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';

export interface TextPart {
  type: 'text';
  text: string;
  cache_control?: unknown;
}
export interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
  cache_control?: unknown;
}
export interface AudioPart {
  type: 'input_audio';
  input_audio: { data: string; format: 'wav' | 'mp3' };
}
export interface FilePart {
  type: 'file';
  file: { file_data?: string; filename?: string; file_id?: string };
  cache_control?: unknown;
}
export interface RefusalPart {
  type: 'refusal';
  refusal: string;
}
export type ContentPart = TextPart | ImagePart | AudioPart | FilePart | RefusalPart;

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** OpenRouter's shape, used to carry vendor reasoning (with signatures) across turns. */
export type ReasoningDetail =
  | { type: 'reasoning.text'; text: string; signature?: string | null; [key: string]: unknown }
  | { type: 'reasoning.encrypted'; data: string; [key: string]: unknown }
  | { type: 'reasoning.summary'; summary: string; [key: string]: unknown };

export interface ChatMessage {
  role: Role;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  refusal?: string | null;
  reasoning?: string;
  reasoning_details?: ReasoningDetail[];
  [key: string]: unknown;
}

export interface FunctionTool {
  type: 'function';
  function: {
    name: string;
    description?: string;
    parameters?: Record<string, unknown>;
    strict?: boolean | null;
  };
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      json_schema: {
        name: string;
        description?: string;
        schema?: Record<string, unknown>;
        strict?: boolean | null;
      };
    };

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high';

export interface TraceContext {
  id: string;
  span_id?: string;
  parent_span_id?: string;
  name?: string;
  source?: string;
  trace_context?: Record<string, string | number | boolean | null>;
}

/** The validated request body. Unknown top-level keys are kept (they pass to OpenAI-style upstreams). */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  models?: string[];
  temperature?: number;
  top_p?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
  seed?: number;
  logit_bias?: Record<string, number>;
  stop?: string | string[] | null;
  max_completion_tokens?: number;
  max_tokens?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  n?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  tools?: (FunctionTool | { type: string; [key: string]: unknown })[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  reasoning?: { effort?: ReasoningEffort; max_tokens?: number; exclude?: boolean; [key: string]: unknown };
  reasoning_effort?: ReasoningEffort;
  user?: string;
  store?: boolean;
  metadata?: Record<string, unknown>;
  tags?: string[];
  trace?: TraceContext;
  [key: string]: unknown;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number; audio_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number; audio_tokens?: number; [key: string]: unknown };
  estimated?: boolean;
}

export interface AssistantMessage {
  role: 'assistant';
  content: string | null;
  refusal: string | null;
  reasoning?: string;
  reasoning_details?: ReasoningDetail[];
  tool_calls?: ToolCall[];
  [key: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  provider: string;
  container?: string;
  system_fingerprint?: string;
  choices: { index: number; finish_reason: FinishReason; logprobs: unknown; message: AssistantMessage }[];
  usage: Usage;
  [key: string]: unknown;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChunkDelta {
  role?: 'assistant';
  content?: string | null;
  reasoning?: string;
  reasoning_details?: ReasoningDetail[];
  refusal?: string | null;
  tool_calls?: ToolCallDelta[];
  [key: string]: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  provider: string;
  container?: string;
  system_fingerprint?: string;
  choices: { index: number; delta: ChunkDelta; finish_reason: FinishReason | null; logprobs: unknown }[];
  usage?: Usage | null;
}

/** The fields the gateway consumes and never forwards upstream (SPEC §3.1). */
export const gatewayOnlyFields = ['models', 'store', 'metadata', 'tags', 'trace'] as const;
