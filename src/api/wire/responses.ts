/**
 * Wire types of the OpenAI Responses API as the gateway speaks it (SPEC §12), hand-written from
 * ../shared/reference/openai-openapi.json (`CreateResponse`, `Response`, `ResponseStreamEvent`);
 * tests validate every object and event the gateway emits against those schemas.
 */
import type { ReasoningEffort, TraceContext } from './chat.js';

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'incomplete';

export interface InputTextPart {
  type: 'input_text';
  text: string;
}
export interface InputImagePart {
  type: 'input_image';
  image_url?: string | null;
  file_id?: string | null;
  detail?: 'auto' | 'low' | 'high';
}
export interface InputFilePart {
  type: 'input_file';
  file_data?: string;
  file_id?: string | null;
  filename?: string;
}
export interface OutputTextPart {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}
export interface RefusalPart {
  type: 'refusal';
  refusal: string;
}
export type InputPart = InputTextPart | InputImagePart | InputFilePart | OutputTextPart | RefusalPart;

/** An input item as received; shapes are checked by the request mapper, which names bad ones. */
export interface InputItem {
  type?: string;
  role?: string;
  content?: string | InputPart[];
  call_id?: string;
  name?: string;
  arguments?: string;
  output?: string | InputPart[];
  [key: string]: unknown;
}

export interface ResponseFunctionTool {
  type: 'function';
  name: string;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}

export type ResponseToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; name: string };

export type ResponseTextFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      schema: Record<string, unknown>;
      strict?: boolean | null;
      description?: string;
    };

/** The validated body of `POST /v1/responses`. Unknown keys are kept and ignored. */
export interface CreateResponseRequest {
  model: string;
  input: string | InputItem[];
  instructions?: string | null;
  stream?: boolean;
  store?: boolean;
  background?: boolean;
  previous_response_id?: string | null;
  max_output_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  user?: string;
  safety_identifier?: string;
  prompt_cache_key?: string;
  service_tier?: string;
  reasoning?: { effort?: ReasoningEffort | null; summary?: string | null } | null;
  text?: { format?: ResponseTextFormat; verbosity?: string | null };
  tools?: ({ type: string; [key: string]: unknown } | ResponseFunctionTool)[];
  tool_choice?: ResponseToolChoice | { type: string; [key: string]: unknown };
  parallel_tool_calls?: boolean;
  truncation?: 'auto' | 'disabled' | null;
  metadata?: Record<string, unknown>;
  models?: string[];
  tags?: string[];
  trace?: TraceContext;
  [key: string]: unknown;
}

export interface OutputMessage {
  type: 'message';
  id: string;
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: (OutputTextPart | RefusalPart)[];
}

export interface ReasoningItem {
  type: 'reasoning';
  id: string;
  summary: { type: 'summary_text'; text: string }[];
  /** The vendor's reasoning details (signatures) as JSON, so a later turn can send them back. */
  encrypted_content?: string | null;
  status?: 'in_progress' | 'completed' | 'incomplete';
}

export interface FunctionCallItem {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

export type OutputItem = OutputMessage | ReasoningItem | FunctionCallItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
  estimated?: boolean;
}

/** The `Response` object (SPEC §12.2), plus the Maniac `provider` and `container`. */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  background: boolean;
  completed_at: number | null;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  model: string;
  provider?: string;
  container?: string;
  output: OutputItem[];
  output_text: string;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: ReasoningEffort | null; summary: string | null } | null;
  store: boolean;
  temperature: number | null;
  top_p: number | null;
  text: { format: ResponseTextFormat };
  tool_choice: ResponseToolChoice;
  tools: (ResponseFunctionTool & { parameters: Record<string, unknown> | null; strict: boolean | null })[];
  truncation: 'auto' | 'disabled';
  metadata: Record<string, unknown>;
  usage?: ResponseUsage;
  user?: string;
  safety_identifier?: string;
  prompt_cache_key?: string;
  service_tier?: string;
}

/** One streamed event; every payload has `type` and `sequence_number` (SPEC §12.4). */
export interface ResponseStreamEvent {
  type: string;
  sequence_number: number;
  [key: string]: unknown;
}
