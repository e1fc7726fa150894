/**
 * How one vendor's wire format is played back: which paths it serves, how the scenario (model) is
 * read from a request, how a transcript line is framed as SSE, and how `echo` answers.
 */
export interface FakeFormat {
  name: string;
  /** Matches a request path; returns the model named in the path, or '' when the body names it. */
  matchPath(path: string): { model: string; isStream: boolean } | undefined;
  modelFromBody(body: Record<string, unknown>): string;
  isStreamFromBody(body: Record<string, unknown>): boolean;
  /** Frames one transcript line (one event) as the vendor sends it on the wire. */
  frame(line: string): string;
  /** Bytes sent after the last event, if the vendor sends any. */
  trailer: string;
  /** Removes usage-only events when the client did not ask for them (OpenAI's include_usage). */
  keepLine(line: string, body: Record<string, unknown>): boolean;
  echo(body: Record<string, unknown>, isStream: boolean): { json?: unknown; lines?: string[] };
}

function lastUserText(body: Record<string, unknown>): string {
  const messages = (body.messages ?? body.contents ?? []) as {
    role?: string;
    content?: unknown;
    parts?: unknown;
  }[];
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (!message || (message.role !== 'user' && message.role !== undefined)) continue;
    if (typeof message.content === 'string') return message.content;
    const parts = (Array.isArray(message.content) ? message.content : message.parts) as
      | { text?: string }[]
      | undefined;
    const text = parts?.map((part) => part.text ?? '').join('');
    if (text) return text;
  }
  return '';
}

/** Splits text into about `count` pieces, for streamed echoes. */
export function splitText(text: string, count: number): string[] {
  if (text.length === 0) return [''];
  const size = Math.max(1, Math.ceil(text.length / count));
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += size) pieces.push(text.slice(index, index + size));
  return pieces;
}

export const openAiFormat: FakeFormat = {
  name: 'openai',
  matchPath: (path) => (path.endsWith('/chat/completions') ? { model: '', isStream: false } : undefined),
  modelFromBody: (body) => String(body.model ?? ''),
  isStreamFromBody: (body) => body.stream === true,
  // Comment lines in a transcript (OpenRouter's `: OPENROUTER PROCESSING`) go out as comments.
  frame: (line) => (line.startsWith(':') ? `${line}\n\n` : `data: ${line}\n\n`),
  trailer: 'data: [DONE]\n\n',
  keepLine(line, body) {
    const wantsUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    return wantsUsage || !line.includes('"choices":[]');
  },
  echo(body, isStream) {
    const text = `Echo: ${lastUserText(body)}`;
    const chunkCount = Number((body.metadata as { chunks?: number } | undefined)?.chunks ?? 0) || 8;
    const promptTokens = Math.ceil(JSON.stringify(body.messages ?? []).length / 4);
    const completionTokens = Math.ceil(text.length / 4);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
    const head = {
      id: 'chatcmpl-fake-echo',
      object: 'chat.completion.chunk',
      created: 1718380800,
      model: String(body.model),
    };
    if (!isStream) {
      return {
        json: {
          id: 'chatcmpl-fake-echo',
          object: 'chat.completion',
          created: 1718380800,
          model: String(body.model),
          system_fingerprint: 'fp_fake',
          choices: [
            {
              index: 0,
              finish_reason: 'stop',
              logprobs: null,
              message: { role: 'assistant', content: text, refusal: null },
            },
          ],
          usage,
        },
      };
    }
    const lines = [
      JSON.stringify({
        ...head,
        choices: [
          { index: 0, delta: { role: 'assistant', content: '', refusal: null }, finish_reason: null },
        ],
      }),
      ...splitText(text, chunkCount).map((piece) =>
        JSON.stringify({ ...head, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] }),
      ),
      JSON.stringify({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      JSON.stringify({ ...head, choices: [], usage }),
    ];
    return { lines };
  },
};
