/** One Server-Sent Event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * Incremental SSE parser. Lines end in LF, CR or CRLF (also when the CR and LF arrive in different
 * reads); a JSON payload split across reads is joined; comment lines (`:`) are dropped here and
 * never forwarded. UTF-8 sequences split across reads are decoded by the streaming TextDecoder.
 */
export class SseDecoder {
  private readonly decoder = new TextDecoder('utf-8');
  private buffer = '';
  private eventName: string | undefined;
  private data: string[] = [];
  private pendingCarriageReturn = false;
  private dataLength = 0;

  /** Characters held for the event not yet complete (its data lines and the unterminated line). */
  get pendingLength(): number {
    return this.buffer.length + this.dataLength;
  }

  push(chunk: Uint8Array): SseEvent[] {
    return this.consume(this.decoder.decode(chunk, { stream: true }));
  }

  /** Flushes what remains at end of input; an unterminated last event is dispatched too. */
  end(): SseEvent[] {
    const events = this.consume(`${this.decoder.decode()}\n\n`);
    this.buffer = '';
    return events;
  }

  private consume(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let input = text;
    if (this.pendingCarriageReturn && input.startsWith('\n')) input = input.slice(1);
    this.pendingCarriageReturn = false;
    this.buffer += input;
    let start = 0;
    const buffer = this.buffer;
    for (let index = 0; index < buffer.length; index++) {
      const code = buffer.charCodeAt(index);
      if (code !== 10 && code !== 13) continue;
      this.line(buffer.slice(start, index), events);
      if (code === 13) {
        if (index + 1 < buffer.length) {
          if (buffer.charCodeAt(index + 1) === 10) index++;
        } else {
          this.pendingCarriageReturn = true;
        }
      }
      start = index + 1;
    }
    this.buffer = buffer.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      if (this.data.length > 0) events.push({ event: this.eventName, data: this.data.join('\n') });
      this.data = [];
      this.dataLength = 0;
      this.eventName = undefined;
      return;
    }
    if (line.charCodeAt(0) === 58) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.dataLength += value.length + 1;
    } else if (field === 'event') this.eventName = value;
  }
}
