/**
 * Reads a `text/event-stream` body into the JSON payloads of its `data:` lines (SPEC §3.5): events
 * end at a blank line, `:` lines are keep-alives, and `[DONE]` ends the stream.
 */
export async function* readSseJson(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body
    .pipeThrough<string>(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>)
    .getReader();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      for (;;) {
        const end = buffered.search(/\r?\n\r?\n/);
        if (end === -1) break;
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end).replace(/^\r?\n\r?\n/, '');
        const data = block
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data === '') continue;
        if (data === '[DONE]') return;
        yield JSON.parse(data);
      }
    }
  } finally {
    // Stops the download too when the reader leaves early (Stop button, error frame).
    await reader.cancel().catch(() => undefined);
  }
}
