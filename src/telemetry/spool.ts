import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { EventSink } from './event-sink.js';
import type { RequestEvent } from './request-event.js';
import { encodeRecord, SegmentReader } from './spool-record.js';

export interface SpoolOptions {
  /** `storage.spoolDir`; created if missing. One process per directory (a lock file enforces it). */
  dir: string;
  /** `telemetry.spoolMaxBytes`: appends that would take the files past this size are refused. */
  maxBytes: number;
  /** A segment file is sealed and a new one started past this size. Default 16 MiB. */
  segmentMaxBytes?: number;
  /** A record that failed its checksum (torn by a crash, or damaged) and was skipped. */
  onDamagedRecord?(record: { file: string; offset: number; bytes: number }): void;
}

/** The oldest batch not yet acknowledged, as returned by `peek()`. */
export interface SpooledBatch {
  readonly events: RequestEvent[];
  readonly segment: number;
  /** Offset just past the record in its segment: where the cursor moves on `ack()`. */
  readonly end: number;
}

export type AppendResult = { status: 'appended'; bytes: number; unserializable: number } | { status: 'full' };

export class SpoolLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(`spool directory ${dir} is in use by process ${pid}`);
    this.name = 'SpoolLockedError';
  }
}

interface Segment {
  seq: number;
  /** Bytes committed (written and fsynced) to the file. */
  size: number;
  /** Present while this is the segment being appended to. */
  handle?: FileHandle;
}

const segmentPattern = /^segment-(\d{12})\.jsonl$/;
const cursorFile = 'cursor.json';
const lockFile = 'spool.lock';
const defaultSegmentMaxBytes = 16 * 1024 * 1024;

/**
 * Append-only on-disk journal of request-event batches, used while the store is down or slow
 * (SPEC §10). Each batch is one checksummed record in a segment file, fsynced before `append`
 * resolves. `peek()`/`ack()` consume batches in append order; the acknowledged position is
 * persisted in `cursor.json` and finished segments are deleted, so a crash during replay re-sends
 * at most the batch in flight (idempotent in the store). Memory holds one batch at a time.
 * Operations run one at a time, in call order.
 */
export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #segmentMaxBytes: number;
  readonly #onDamagedRecord: SpoolOptions['onDamagedRecord'];
  readonly #segments: Segment[];
  #nextSeq: number;
  /** Everything before this position is acknowledged (segments below `seq` are gone). */
  #acked: { seq: number; offset: number };
  #bytes: number;
  #reader: { seq: number; reader: SegmentReader } | undefined;
  #peeked: SpooledBatch | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #isClosed = false;

  private constructor(options: SpoolOptions, segments: Segment[], acked: { seq: number; offset: number }) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.#segmentMaxBytes = options.segmentMaxBytes ?? defaultSegmentMaxBytes;
    this.#onDamagedRecord = options.onDamagedRecord;
    this.#segments = segments;
    this.#acked = acked;
    this.#nextSeq = Math.max(acked.seq, ...segments.map((segment) => segment.seq)) + 1;
    this.#bytes = segments.reduce((total, segment) => total + segment.size, 0);
  }

  /** Opens (or creates) the spool in `options.dir`, picking up batches left by an earlier process. */
  static async open(options: SpoolOptions): Promise<Spool> {
    await mkdir(options.dir, { recursive: true });
    await acquireLock(options.dir);
    const cursor = await readCursor(options.dir);
    const segments: Segment[] = [];
    for (const name of (await readdir(options.dir)).sort()) {
      const match = segmentPattern.exec(name);
      if (!match) continue;
      const seq = Number(match[1]);
      const path = join(options.dir, name);
      const size = (await stat(path)).size;
      // Fully acknowledged before a crash, deleted only now.
      if (cursor && (seq < cursor.seq || (seq === cursor.seq && size <= cursor.offset))) await unlink(path);
      else segments.push({ seq, size });
    }
    const first = segments[0];
    let acked = cursor ?? { seq: first?.seq ?? 0, offset: 0 };
    // A cursor past its segment's end cannot be trusted: re-send the segment (the store ignores repeats).
    if (first && first.seq === acked.seq && acked.offset > first.size) acked = { seq: acked.seq, offset: 0 };
    return new Spool(options, segments, acked);
  }

  /** Bytes of all segment files, the quantity bounded by `maxBytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether any bytes after the acknowledged position remain (damaged tails count until read). */
  get hasPending(): boolean {
    return this.#segments.some((segment) => segment.size > this.#startOf(segment));
  }

  /** Journals one batch durably (fsync), or reports `full` without writing anything. */
  append(events: readonly RequestEvent[]): Promise<AppendResult> {
    return this.#exclusive(async () => {
      this.#assertOpen();
      const record = encodeRecord(events);
      if (this.#bytes + record.byteLength > this.maxBytes) return { status: 'full' };
      let active = this.#active();
      if (active && active.size > 0 && active.size + record.byteLength > this.#segmentMaxBytes) {
        await this.#seal(active);
        active = undefined;
      }
      active ??= await this.#createSegment();
      const handle = active.handle as FileHandle;
      try {
        const { bytesWritten } = await handle.writev(record.parts, active.size);
        if (bytesWritten !== record.byteLength) throw new Error(`short write to spool segment ${active.seq}`);
        await handle.sync();
      } catch (error) {
        await this.#abandon(active);
        throw error;
      }
      active.size += record.byteLength;
      this.#bytes += record.byteLength;
      return { status: 'appended', bytes: record.byteLength, unserializable: record.unserializable };
    });
  }

  /**
   * The oldest unacknowledged batch (the same one until `ack`), or undefined when none is left.
   * Damaged records are skipped and reported.
   */
  peek(): Promise<SpooledBatch | undefined> {
    return this.#exclusive(async () => {
      this.#assertOpen();
      try {
        await this.#readNext();
      } catch (error) {
        // Reread from the acknowledged position next time rather than trust a reader that failed.
        await this.#closeReader().catch(() => undefined);
        throw error;
      }
      return this.#peeked;
    });
  }

  /** Marks `batch` (the one `peek` returned) as stored: durable before this resolves. */
  ack(batch: SpooledBatch): Promise<void> {
    return this.#exclusive(async () => {
      this.#assertOpen();
      if (batch !== this.#peeked) throw new Error('spool ack does not match the peeked batch');
      this.#peeked = undefined;
      await this.#advance({ seq: batch.segment, offset: batch.end });
    });
  }

  /** Sends every pending batch to `sink` in order, acknowledging each once accepted. Stops on the first failure. */
  async replay(sink: EventSink): Promise<{ batches: number; events: number }> {
    let batches = 0;
    let events = 0;
    for (let batch = await this.peek(); batch; batch = await this.peek()) {
      await sink.insertMany(batch.events);
      await this.ack(batch);
      batches++;
      events += batch.events.length;
    }
    return { batches, events };
  }

  /** Closes files and releases the directory lock. Pending batches stay for the next `open`. */
  close(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#isClosed) return;
      this.#isClosed = true;
      const active = this.#active();
      if (active) await this.#seal(active);
      await this.#closeReader();
      await releaseLock(this.dir);
    });
  }

  /** Reads until a batch is peeked or nothing is left, skipping damaged records and finished segments. */
  async #readNext(): Promise<void> {
    while (!this.#peeked) {
      const segment = this.#segments.find((candidate) => candidate.size > this.#startOf(candidate));
      if (!segment) return;
      const reader = await this.#readerFor(segment);
      const result = await reader.next(segment.size);
      if (result.kind === 'record') {
        this.#peeked = { events: result.events, segment: segment.seq, end: result.end };
      } else if (result.kind === 'damaged') {
        this.#onDamagedRecord?.({
          file: segmentPath(this.dir, segment.seq),
          offset: result.start,
          bytes: result.end - result.start,
        });
        if (result.end === segment.size) await this.#advance({ seq: segment.seq, offset: result.end });
      } else {
        await this.#advance({ seq: segment.seq, offset: segment.size });
      }
    }
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(operation);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #assertOpen(): void {
    if (this.#isClosed) throw new Error('spool is closed');
  }

  #active(): Segment | undefined {
    const last = this.#segments.at(-1);
    return last?.handle ? last : undefined;
  }

  #startOf(segment: Segment): number {
    if (segment.seq < this.#acked.seq) return segment.size;
    return segment.seq === this.#acked.seq ? this.#acked.offset : 0;
  }

  async #createSegment(): Promise<Segment> {
    const seq = this.#nextSeq++;
    const handle = await open(segmentPath(this.dir, seq), 'wx');
    // Make the new directory entry durable too, or a crash could lose the whole fsynced file.
    const directory = await open(this.dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    const segment: Segment = { seq, size: 0, handle };
    this.#segments.push(segment);
    return segment;
  }

  async #seal(segment: Segment): Promise<void> {
    const handle = segment.handle;
    segment.handle = undefined;
    await handle?.close();
  }

  /** After a failed write: cut the partial record off and stop appending to this segment. */
  async #abandon(segment: Segment): Promise<void> {
    const handle = segment.handle;
    segment.handle = undefined;
    try {
      await handle?.truncate(segment.size);
    } catch {
      // The reader skips a torn tail by its checksum; later appends go to a new segment anyway.
    }
    await handle?.close().catch(() => undefined);
  }

  async #readerFor(segment: Segment): Promise<SegmentReader> {
    if (this.#reader?.seq === segment.seq) return this.#reader.reader;
    await this.#closeReader();
    const reader = new SegmentReader(
      await open(segmentPath(this.dir, segment.seq), 'r'),
      this.#startOf(segment),
    );
    this.#reader = { seq: segment.seq, reader };
    return reader;
  }

  async #closeReader(): Promise<void> {
    const current = this.#reader;
    this.#reader = undefined;
    await current?.reader.close();
  }

  /** Persists the acknowledged position, then deletes the segment if nothing is left in it. */
  async #advance(position: { seq: number; offset: number }): Promise<void> {
    this.#acked = position;
    await writeCursor(this.dir, position);
    const segment = this.#segments.find((candidate) => candidate.seq === position.seq);
    if (!segment || position.offset < segment.size) return;
    if (this.#reader?.seq === segment.seq) await this.#closeReader();
    await this.#seal(segment);
    await unlink(segmentPath(this.dir, segment.seq));
    this.#segments.splice(this.#segments.indexOf(segment), 1);
    this.#bytes -= segment.size;
    this.#acked = { seq: segment.seq + 1, offset: 0 };
  }
}

function segmentPath(dir: string, seq: number): string {
  return join(dir, `segment-${String(seq).padStart(12, '0')}.jsonl`);
}

async function readCursor(dir: string): Promise<{ seq: number; offset: number } | undefined> {
  try {
    const cursor: unknown = JSON.parse(await readFile(join(dir, cursorFile), 'utf8'));
    if (typeof cursor !== 'object' || cursor === null) return undefined;
    const { segment, offset } = cursor as { segment?: unknown; offset?: unknown };
    if (!Number.isSafeInteger(segment) || !Number.isSafeInteger(offset)) return undefined;
    return { seq: segment as number, offset: offset as number };
  } catch {
    // Missing or unreadable: start from the oldest segment; the store ignores what it already has.
    return undefined;
  }
}

/** Write-then-rename, so a crash leaves either the old or the new cursor, never half of one. */
async function writeCursor(dir: string, position: { seq: number; offset: number }): Promise<void> {
  const temporary = join(dir, `${cursorFile}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(JSON.stringify({ segment: position.seq, offset: position.offset }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, join(dir, cursorFile));
}

async function acquireLock(dir: string): Promise<void> {
  const path = join(dir, lockFile);
  try {
    await writeFile(path, String(process.pid), { flag: 'wx' });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  // The same process may reopen its own directory (a restart in tests); a dead owner left a stale lock.
  if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && isProcessAlive(owner)) {
    throw new SpoolLockedError(dir, owner);
  }
  await writeFile(path, String(process.pid));
}

async function releaseLock(dir: string): Promise<void> {
  const path = join(dir, lockFile);
  const owner = await readFile(path, 'utf8').catch(() => '');
  if (owner.trim() === String(process.pid)) await unlink(path).catch(() => undefined);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
