import { describe, expect, it } from 'vitest';
import { SseDecoder } from '#src/stream/sse-decoder.js';

const encode = (text: string) => new TextEncoder().encode(text);

function decodeInPieces(text: string, pieceSize: number) {
  const decoder = new SseDecoder();
  const bytes = encode(text);
  const events = [];
  for (let index = 0; index < bytes.length; index += pieceSize)
    events.push(...decoder.push(bytes.slice(index, index + pieceSize)));
  events.push(...decoder.end());
  return events;
}

describe('SseDecoder', () => {
  it('parses LF, CRLF and CR line endings alike', () => {
    for (const newline of ['\n', '\r\n', '\r']) {
      const text = `data: {"a":1}${newline}${newline}event: ping${newline}data: x${newline}${newline}`;
      expect(decodeInPieces(text, 1000)).toEqual([
        { event: undefined, data: '{"a":1}' },
        { event: 'ping', data: 'x' },
      ]);
    }
  });

  it('joins JSON split across reads, also CR and LF split apart and multi-byte characters', () => {
    const text = 'data: {"text":"héllo 🌍"}\r\n\r\ndata: [DONE]\r\n\r\n';
    for (const size of [1, 2, 3, 5, 7]) {
      expect(decodeInPieces(text, size)).toEqual([
        { event: undefined, data: '{"text":"héllo 🌍"}' },
        { event: undefined, data: '[DONE]' },
      ]);
    }
  });

  it('drops comment lines and joins multi-line data', () => {
    const text = ': OPENROUTER PROCESSING\n\ndata: a\ndata: b\n\n: keepalive\n';
    expect(decodeInPieces(text, 4)).toEqual([{ event: undefined, data: 'a\nb' }]);
  });

  it('dispatches an unterminated last event at end of input', () => {
    expect(decodeInPieces('data: last', 3)).toEqual([{ event: undefined, data: 'last' }]);
  });
});
