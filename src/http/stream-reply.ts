import type { ServerResponse } from 'node:http';
import { sseKeepAlive } from '../stream/sse-writer.js';

export type PipeOutcome = 'completed' | 'client_gone' | 'stopped';

/**
 * Writes frames to the socket as they come, never buffering more than the socket does: when a write
 * is refused, reading from the upstream waits for `drain`. A keep-alive comment goes out after
 * `keepAliveMs` of silence. `stop` (the drain deadline at shutdown) ends the pipe between frames;
 * the caller then writes the in-band `shutting_down` error. Ending early closes the frame source,
 * which aborts the upstream.
 */
export async function pipeFrames(
  response: ServerResponse,
  frames: AsyncIterable<string>,
  keepAliveMs: number,
  stop?: AbortSignal,
): Promise<PipeOutcome> {
  let lastWriteAt = performance.now();
  const keepAlive = setInterval(() => {
    if (performance.now() - lastWriteAt >= keepAliveMs && !response.writableEnded) {
      response.write(sseKeepAlive);
      lastWriteAt = performance.now();
    }
  }, keepAliveMs);
  keepAlive.unref();
  const iterator = frames[Symbol.asyncIterator]();
  const stopped = stop
    ? new Promise<'stopped'>((resolve) => {
        if (stop.aborted) resolve('stopped');
        else stop.addEventListener('abort', () => resolve('stopped'), { once: true });
      })
    : undefined;
  let outcome: PipeOutcome = 'completed';
  try {
    for (;;) {
      const next = stopped ? await Promise.race([iterator.next(), stopped]) : await iterator.next();
      if (next === 'stopped') {
        outcome = 'stopped';
        break;
      }
      if (next.done) break;
      if (response.destroyed) {
        outcome = 'client_gone';
        break;
      }
      lastWriteAt = performance.now();
      if (!response.write(next.value)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            response.off('drain', done);
            response.off('close', done);
            stop?.removeEventListener('abort', done);
            resolve();
          };
          response.once('drain', done);
          response.once('close', done);
          stop?.addEventListener('abort', done, { once: true });
        });
        if (response.destroyed) {
          outcome = 'client_gone';
          break;
        }
      }
    }
    return outcome;
  } finally {
    clearInterval(keepAlive);
    if (outcome !== 'completed') void iterator.return?.();
  }
}
