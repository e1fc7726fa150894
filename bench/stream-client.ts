import { Pool } from 'undici';
import { LatencyRecorder, type LatencySummary } from './load.js';

/**
 * Concurrent SSE streams over undici's `Pool.request` (never `fetch`, whose web streams would cost
 * more than what is measured). For each stream: time to the first body byte, time to the end, the
 * number of frames, and whether it ended with `data: [DONE]` and carried no error frame.
 */

const doneFrame = Buffer.from('data: [DONE]\n\n');
const errorMarker = Buffer.from('"error"');
const newline = 10;

export interface StreamRoundOptions {
  streams: number;
  /** Stream i starts at i × rampMs / streams, so that all are open together without one burst. */
  rampMs: number;
  /** Fewer frames than this (the `[DONE]` frame counted) is a broken stream. */
  minFrames: number;
  perStreamTimeoutMs: number;
  deadlineMs: number;
}

export interface StreamRoundResult {
  streams: number;
  completed: number;
  failures: string[];
  ttfb: LatencySummary;
  total: LatencySummary;
  minFrames: number;
  maxFrames: number;
  elapsedSeconds: number;
}

type StreamOutcome =
  | { isComplete: true; ttfbMs: number; totalMs: number; frames: number }
  | { isComplete: false; reason: string; frames: number };

export class StreamClient {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    url: string,
    connections: number,
    private readonly headers: Record<string, string>,
    private readonly body: Buffer,
  ) {
    const parsed = new URL(url);
    this.pool = new Pool(parsed.origin, { connections, pipelining: 1 });
    this.path = parsed.pathname;
  }

  async run(options: StreamRoundOptions): Promise<StreamRoundResult> {
    const deadline = AbortSignal.timeout(options.deadlineMs);
    const startedAt = performance.now();
    const outcomes = await Promise.all(
      Array.from(
        { length: options.streams },
        (_, index) =>
          new Promise<StreamOutcome>((resolve) => {
            setTimeout(
              () => resolve(this.one(options, deadline)),
              Math.floor((index * options.rampMs) / options.streams),
            );
          }),
      ),
    );
    const ttfb = new LatencyRecorder(options.streams);
    const total = new LatencyRecorder(options.streams);
    const failures: string[] = [];
    let minFrames = Number.POSITIVE_INFINITY;
    let maxFrames = 0;
    for (const outcome of outcomes) {
      minFrames = Math.min(minFrames, outcome.frames);
      maxFrames = Math.max(maxFrames, outcome.frames);
      if (outcome.isComplete) {
        ttfb.record(outcome.ttfbMs);
        total.record(outcome.totalMs);
      } else {
        failures.push(outcome.reason);
      }
    }
    return {
      streams: options.streams,
      completed: options.streams - failures.length,
      failures,
      ttfb: ttfb.summary(),
      total: total.summary(),
      minFrames,
      maxFrames,
      elapsedSeconds: (performance.now() - startedAt) / 1000,
    };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }

  private async one(options: StreamRoundOptions, deadline: AbortSignal): Promise<StreamOutcome> {
    const startedAt = performance.now();
    let frames = 0;
    try {
      const response = await this.pool.request({
        method: 'POST',
        path: this.path,
        headers: this.headers,
        body: this.body,
        signal: AbortSignal.any([deadline, AbortSignal.timeout(options.perStreamTimeoutMs)]),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return { isComplete: false, reason: `status ${response.statusCode}`, frames };
      }
      let firstByteAt: number | undefined;
      let previousByte = 0;
      let hasErrorFrame = false;
      let tail = Buffer.alloc(0);
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        firstByteAt ??= performance.now();
        for (let index = chunk.indexOf(newline); index !== -1; index = chunk.indexOf(newline, index + 1)) {
          const before = index === 0 ? previousByte : chunk[index - 1];
          if (before === newline) frames += 1;
        }
        previousByte = chunk[chunk.length - 1] ?? previousByte;
        if (!hasErrorFrame && chunk.includes(errorMarker)) hasErrorFrame = true;
        tail = Buffer.concat([tail, chunk.subarray(-doneFrame.length)]).subarray(-doneFrame.length);
      }
      const endedAt = performance.now();
      if (hasErrorFrame) return { isComplete: false, reason: 'error frame in stream', frames };
      if (!tail.equals(doneFrame)) return { isComplete: false, reason: 'ended without [DONE]', frames };
      if (frames < options.minFrames) {
        return { isComplete: false, reason: `${frames} frames, expected ${options.minFrames}`, frames };
      }
      return {
        isComplete: true,
        ttfbMs: (firstByteAt ?? endedAt) - startedAt,
        totalMs: endedAt - startedAt,
        frames,
      };
    } catch (error) {
      return { isComplete: false, reason: (error as Error).message || String(error), frames };
    }
  }
}
