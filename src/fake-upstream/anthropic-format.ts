import { type FakeFormat, splitText } from './formats.js';

/** Text of the last user turn in a Messages API body (tool results are not user text). */
function lastUserText(body: Record<string, unknown>): string {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as {
    role?: string;
    content?: unknown;
  }[];
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    if (!Array.isArray(message.content)) continue;
    const text = (message.content as { type?: string; text?: string }[])
      .filter((block) => block.type === 'text')
      .map((block) => block.text ?? '')
      .join('');
    if (text) return text;
  }
  return '';
}

/**
 * Anthropic's Messages API as the fake upstream plays it: `POST …/v1/messages`, the scenario in
 * `model`, streaming by `stream: true`. Each transcript line is one event JSON carrying its `type`,
 * sent as a named event (`event: <type>`); the stream has no trailer (no `[DONE]`).
 * @see https://platform.claude.com/docs/en/build-with-claude/streaming
 */
export const anthropicFormat: FakeFormat = {
  name: 'anthropic',
  matchPath: (path) => (path.endsWith('/v1/messages') ? { model: '', isStream: false } : undefined),
  modelFromBody: (body) => String(body.model ?? ''),
  isStreamFromBody: (body) => body.stream === true,
  frame(line) {
    if (line.startsWith(':')) return `${line}\n\n`;
    let type: unknown;
    try {
      type = (JSON.parse(line) as { type?: unknown } | null)?.type;
    } catch {
      type = undefined;
    }
    return typeof type === 'string' ? `event: ${type}\ndata: ${line}\n\n` : `data: ${line}\n\n`;
  },
  trailer: '',
  keepLine: () => true,
  echo(body, isStream) {
    const text = `Echo: ${lastUserText(body)}`;
    const model = String(body.model ?? '');
    const usage = {
      input_tokens: Math.ceil(JSON.stringify(body.messages ?? []).length / 4),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: Math.ceil(text.length / 4),
    };
    const message = {
      id: 'msg_fake_echo',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage,
    };
    if (!isStream) return { json: message };
    const lines = [
      JSON.stringify({
        type: 'message_start',
        message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
      }),
      JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      JSON.stringify({ type: 'ping' }),
      ...splitText(text, 8).map((piece) =>
        JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } }),
      ),
      JSON.stringify({ type: 'content_block_stop', index: 0 }),
      JSON.stringify({
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: usage.output_tokens },
      }),
      JSON.stringify({ type: 'message_stop' }),
    ];
    return { lines };
  },
};
