/** The upstream shapes of OpenAI-style servers (OpenAI, OpenRouter, vLLM, Ollama, llama.cpp…). */
import type { AssistantMessage, ChunkDelta, FinishReason, Usage } from '../../api/wire/chat.js';

export interface OpenAiCompatibleCompletion {
  id?: string;
  system_fingerprint?: string | null;
  choices?: {
    index?: number;
    finish_reason?: FinishReason | string | null;
    logprobs?: unknown;
    message?: Partial<AssistantMessage> & { reasoning_content?: string | null };
  }[];
  usage?: Usage | null;
}

export interface OpenAiCompatibleChunk {
  id?: string;
  system_fingerprint?: string | null;
  choices?: {
    index?: number;
    delta?: ChunkDelta & { reasoning_content?: string | null };
    finish_reason?: string | null;
    logprobs?: unknown;
  }[];
  usage?: Usage | null;
  error?: { message?: string; code?: string | number; type?: string; param?: string | null };
}

/** Which dialect a request is written in; the family differences of SPEC §4 key off this. */
export type OpenAiDialect = 'openai' | 'openrouter' | 'compat';
