/**
 * The upstream shapes of the Gemini API, pinned to version `v1beta` (`generateContent`,
 * `streamGenerateContent?alt=sse`). Only the fields the gateway writes or reads are typed.
 * @see https://ai.google.dev/api/generate-content
 */

/** The only version the gateway speaks; `thoughtSignature`, `responseJsonSchema` need v1beta. */
export const geminiApiVersion = 'v1beta';

/** The `format` tag of `reasoning_details` entries that carry Gemini thoughts and signatures. */
export const geminiReasoningFormat = 'google-gemini-v1';

export interface GeminiFunctionCall {
  id?: string;
  name?: string;
  args?: Record<string, unknown>;
}

/** One part; exactly one data field is set, plus `thought`/`thoughtSignature` where relevant. */
export interface GeminiPart {
  text?: string;
  thought?: boolean;
  /** Opaque base64 signature of the model's thinking, to be sent back on the same part. */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  functionCall?: GeminiFunctionCall;
  functionResponse?: { name: string; response: Record<string, unknown> };
}

export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

/** The OpenAPI 3.0 subset `FunctionDeclaration.parameters` accepts (protobuf `Schema`). */
export type GeminiSchema = Record<string, unknown>;

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parameters?: GeminiSchema;
}

export type GeminiFunctionCallingMode = 'AUTO' | 'ANY' | 'NONE';

export interface GeminiThinkingConfig {
  thinkingBudget?: number;
  includeThoughts?: boolean;
}

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
  maxOutputTokens?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  responseJsonSchema?: Record<string, unknown>;
  thinkingConfig?: GeminiThinkingConfig;
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: { text: string }[] };
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  toolConfig?: {
    functionCallingConfig: { mode: GeminiFunctionCallingMode; allowedFunctionNames?: string[] };
  };
  generationConfig?: GeminiGenerationConfig;
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  finishReason?: string;
  finishMessage?: string;
  index?: number;
}

/** One `GenerateContentResponse`: the whole answer, or one SSE event of a stream. */
export interface GeminiResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
  error?: GeminiError;
}

/** `google.rpc.Status` as JSON; `details` carry `ErrorInfo.reason` and `RetryInfo.retryDelay`. */
export interface GeminiError {
  code?: number;
  message?: string;
  status?: string;
  details?: { '@type'?: string; reason?: string; retryDelay?: string }[];
}
