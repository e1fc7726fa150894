import { expect } from 'vitest';
import {
  fakeUrl,
  type JsonResponse,
  postJson,
  startTestGateway,
  type TestGateway,
  type TestGatewayOptions,
} from '../../support/gateway.js';
import { assertOpenAiSchema } from '../../support/openai-schema.js';

export const anthropicScenarios = [
  'echo',
  'text',
  'thinking',
  'tool-use',
  'cached-usage',
  'refusal',
  'overloaded-mid-stream',
  'broken-stream',
  'error-429',
];
export const geminiScenarios = [
  'echo',
  'text',
  'thinking',
  'function-call',
  'cached-usage',
  'mid-stream-error',
  'error-429',
];
export const localScenarios = [
  'echo',
  'text',
  'tools',
  'reasoning',
  'controlled',
  'mid-stream-error',
  'error-429',
  'no-finish',
  'stall',
];

/**
 * A gateway whose fake upstream plays OpenAI-compatible (`local/<scenario>`), Anthropic
 * (`anthropic/<scenario>`) and Gemini (`google/<scenario>`) transcripts, plus `local/vision` (echo,
 * accepts images) and `local/chat-only` (echo, chat API only).
 */
export async function startResponsesGateway(
  file: Record<string, unknown> = {},
  options: Omit<TestGatewayOptions, 'file'> = {},
): Promise<TestGateway> {
  return startTestGateway({
    ...options,
    file: {
      shutdown: { drainTimeoutMs: 2000 },
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: localScenarios,
        },
      },
      models: [
        {
          id: 'local/vision',
          provider: 'local',
          upstream_model: 'echo',
          input_modalities: ['text', 'image', 'file'],
        },
        { id: 'local/chat-only', provider: 'local', upstream_model: 'echo', supported_apis: ['chat'] },
        ...anthropicScenarios.map((scenario) => ({
          id: `anthropic/${scenario}`,
          provider: 'anthropic',
          upstream_model: scenario,
          max_output_tokens: 1024,
          input_modalities: ['text', 'image', 'file'],
        })),
        ...geminiScenarios.map((scenario) => ({
          id: `google/${scenario}`,
          provider: 'google',
          upstream_model: scenario,
          input_modalities: ['text', 'image'],
        })),
      ],
      ...file,
    },
  });
}

export type ResponseBody = Record<string, unknown> & {
  id: string;
  status: string;
  output: Record<string, unknown>[];
  output_text: string;
  usage?: Record<string, unknown>;
  error: { code: string; message: string } | null;
};

export function createResponse(
  gateway: TestGateway,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<JsonResponse<ResponseBody>> {
  return postJson<ResponseBody>(gateway, '/v1/responses', body, headers);
}

export async function request(
  gateway: TestGateway,
  method: string,
  path: string,
  headers: Record<string, string> = gateway.headers,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}${path}`, { method, headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export interface StreamEvent {
  type: string;
  sequence_number: number;
  [key: string]: unknown;
}

/** Reads `event: <type>\ndata: <json>` frames; the `event:` name must equal the payload's `type`. */
export function parseEvents(text: string): StreamEvent[] {
  const events: StreamEvent[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((line) => !line.startsWith(':') && line.length > 0);
    if (lines.length === 0) continue;
    const name = lines.find((line) => line.startsWith('event: '))?.slice(7);
    const data = lines.find((line) => line.startsWith('data: '))?.slice(6);
    expect(data, block).toBeDefined();
    const event = JSON.parse(data as string) as StreamEvent;
    expect(name).toBe(event.type);
    events.push(event);
  }
  return events;
}

export async function streamResponse(
  gateway: TestGateway,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string; events: StreamEvent[] }> {
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { ...gateway.headers, ...headers },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await response.text();
  const isSse = response.headers.get('content-type')?.startsWith('text/event-stream') === true;
  return { status: response.status, headers: response.headers, text, events: isSse ? parseEvents(text) : [] };
}

const responseErrorCodes = new Set(['server_error', 'rate_limit_exceeded', 'invalid_prompt']);

/**
 * Validates against OpenAI's `Response` schema. A failed response's `error.code` is the gateway's
 * catalog code (SPEC §12.2, e.g. `shutting_down`), outside OpenAI's closed `ResponseErrorCode` enum;
 * only that field is swapped for the check, and callers assert the real code themselves.
 */
export function assertResponse(value: unknown): void {
  const response = value as { error?: { code: string } | null };
  const checked =
    response.error && !responseErrorCodes.has(response.error.code)
      ? { ...response, error: { ...response.error, code: 'server_error' } }
      : value;
  assertOpenAiSchema('Response', checked);
}

/** Every event validates, numbers run 0..n−1, and responses inside events validate too. */
export function assertEvents(events: StreamEvent[]): void {
  events.forEach((event, index) => {
    expect(event.sequence_number).toBe(index);
    const response = event.response as { error?: unknown } | undefined;
    if (response) {
      assertResponse(response);
      assertOpenAiSchema('ResponseStreamEvent', { ...event, response: { ...response, error: null } });
    } else assertOpenAiSchema('ResponseStreamEvent', event);
  });
}

export const typesOf = (events: StreamEvent[]) => events.map((event) => event.type);

/** Opens a stream (POST /v1/responses, or GET with a path) for reading piece by piece. */
export async function openEventStream(
  gateway: TestGateway,
  target: { body: Record<string, unknown> } | { path: string },
  headers: Record<string, string> = gateway.headers,
) {
  const controller = new AbortController();
  const response =
    'body' in target
      ? await fetch(`${gateway.url}/v1/responses`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ stream: true, ...target.body }),
          signal: controller.signal,
        })
      : await fetch(`${gateway.url}${target.path}`, { headers, signal: controller.signal });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events = () => parseEvents(text.slice(0, text.lastIndexOf('\n\n') + 2));
  return {
    response,
    events,
    /** Reads until an event of `type` arrived (or the stream ended); returns all events so far. */
    async until(type: string): Promise<StreamEvent[]> {
      while (!events().some((event) => event.type === type)) {
        const next = await reader?.read();
        if (!next || next.done) break;
        text += decoder.decode(next.value, { stream: true });
      }
      return events();
    },
    async all(): Promise<StreamEvent[]> {
      for (;;) {
        const next = await reader?.read();
        if (!next || next.done) return events();
        text += decoder.decode(next.value, { stream: true });
      }
    },
    abort: () => controller.abort(),
  };
}

/** One OpenAI chunk line for the fake upstream's `controlled` scenario. */
export function chunkLine(delta: Record<string, unknown>, finishReason: string | null = null): string {
  return JSON.stringify({
    id: 'chatcmpl-controlled',
    object: 'chat.completion.chunk',
    created: 1718380800,
    model: 'controlled',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });
}

export function usageLine(prompt: number, completion: number): string {
  return JSON.stringify({
    id: 'chatcmpl-controlled',
    object: 'chat.completion.chunk',
    created: 1718380800,
    model: 'controlled',
    choices: [],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  });
}

/** The response an event carries (`response.*` lifecycle events). */
export function responseOf(event: StreamEvent | undefined): ResponseBody {
  const response = event?.response;
  if (!response) throw new Error(`no response in ${event?.type}`);
  return response as ResponseBody;
}
