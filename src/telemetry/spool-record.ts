import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { RequestEvent } from './request-event.js';

/**
 * One spool record is one batch on one line: `<crc32 of json, 8 hex> <json array of events>\n`.
 * JSON.stringify never emits a raw newline, so `\n` ends a record; the checksum tells a complete
 * record from one torn by a crash mid-write or damaged on disk.
 */
const newline = 0x0a;
const space = 0x20;
const headerBytes = 9;
const minimumReadBytes = 64 * 1024;

export interface EncodedRecord {
  parts: Buffer[];
  byteLength: number;
  /** Events left out because they could not be serialized (never expected: events are plain data). */
  unserializable: number;
}

export function encodeRecord(events: readonly RequestEvent[]): EncodedRecord {
  let json: string;
  let unserializable = 0;
  try {
    json = JSON.stringify(events);
  } catch {
    // One bad event (a BigInt, a cycle) must not keep its whole batch in memory forever.
    const encoded: string[] = [];
    for (const event of events) {
      try {
        encoded.push(JSON.stringify(event));
      } catch {
        unserializable++;
      }
    }
    json = `[${encoded.join(',')}]`;
  }
  const body = Buffer.from(json, 'utf8');
  const header = Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} `, 'latin1');
  return {
    parts: [header, body, Buffer.from([newline])],
    byteLength: headerBytes + body.length + 1,
    unserializable,
  };
}

/** Events of one record line (without its `\n`), or undefined if the line is damaged. */
export function decodeRecord(line: Buffer): RequestEvent[] | undefined {
  if (line.length <= headerBytes || line[headerBytes - 1] !== space) return undefined;
  const expected = Number.parseInt(line.toString('latin1', 0, headerBytes - 1), 16);
  const body = line.subarray(headerBytes);
  if (!Number.isInteger(expected) || crc32(body) !== expected) return undefined;
  try {
    const events: unknown = JSON.parse(body.toString('utf8'));
    return Array.isArray(events) ? (events as RequestEvent[]) : undefined;
  } catch {
    return undefined;
  }
}

export type SegmentReadResult =
  | { kind: 'record'; events: RequestEvent[]; start: number; end: number }
  /** A damaged record (`start`..`end`), or a torn tail when it runs up to the read limit. */
  | { kind: 'damaged'; start: number; end: number }
  | { kind: 'end'; position: number };

/**
 * Reads records of one segment file sequentially from an offset. Memory holds at most one record
 * plus one read chunk, whatever the segment size.
 */
export class SegmentReader {
  readonly #handle: FileHandle;
  #buffer: Buffer = Buffer.alloc(0);
  /** File offset of `#buffer[0]`. */
  #bufferOffset: number;
  /** Index in `#buffer` of the next unread byte. */
  #cursor = 0;

  /** Takes ownership of `handle`; `close()` closes it. */
  constructor(handle: FileHandle, offset: number) {
    this.#handle = handle;
    this.#bufferOffset = offset;
  }

  /** File offset of the next unread byte. */
  get position(): number {
    return this.#bufferOffset + this.#cursor;
  }

  /** Next record below `limit`: the segment's committed size, the part known to be fully written. */
  async next(limit: number): Promise<SegmentReadResult> {
    for (;;) {
      const end = this.#buffer.indexOf(newline, this.#cursor);
      if (end !== -1) {
        const start = this.position;
        const line = this.#buffer.subarray(this.#cursor, end);
        this.#cursor = end + 1;
        const events = decodeRecord(line);
        return events
          ? { kind: 'record', events, start, end: this.position }
          : { kind: 'damaged', start, end: this.position };
      }
      const readFrom = this.#bufferOffset + this.#buffer.length;
      // Bytes up to the limit with no newline are a torn tail; so is a file cut shorter than the limit.
      if (readFrom >= limit || !(await this.#fill(readFrom, limit))) {
        const start = this.position;
        this.#buffer = Buffer.alloc(0);
        this.#bufferOffset = Math.max(start, limit);
        this.#cursor = 0;
        return start >= limit ? { kind: 'end', position: start } : { kind: 'damaged', start, end: limit };
      }
    }
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }

  async #fill(readFrom: number, limit: number): Promise<boolean> {
    const kept = this.#buffer.subarray(this.#cursor);
    // Read at least as much as already buffered, so a large record costs linear, not quadratic, copying.
    const wanted = Math.min(Math.max(minimumReadBytes, kept.length), limit - readFrom);
    const next = Buffer.allocUnsafe(kept.length + wanted);
    kept.copy(next, 0);
    const { bytesRead } = await this.#handle.read(next, kept.length, wanted, readFrom);
    if (bytesRead === 0) return false;
    this.#bufferOffset += this.#cursor;
    this.#cursor = 0;
    this.#buffer = next.subarray(0, kept.length + bytesRead);
    return true;
  }
}
