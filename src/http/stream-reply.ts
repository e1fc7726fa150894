import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { sseKeepAlive } from '../stream/sse-writer.js';

/**
 * Writes frames to the socket as they come, never buffering more than the socket does: when a write
 * is refused, reading from the upstream waits for `drain`. A keep-alive comment goes out after
 * `keepAliveMs` of silence. Returns false when the client went away before the end.
 */
export async function pipeFrames(
  response: ServerResponse,
  frames: AsyncIterable<string>,
  keepAliveMs: number,
): Promise<boolean> {
  let lastWriteAt = performance.now();
  const keepAlive = setInterval(() => {
    if (performance.now() - lastWriteAt >= keepAliveMs && !response.writableEnded) {
      response.write(sseKeepAlive);
      lastWriteAt = performance.now();
    }
  }, keepAliveMs);
  keepAlive.unref();
  try {
    for await (const frame of frames) {
      if (response.destroyed) return false;
      lastWriteAt = performance.now();
      if (!response.write(frame)) {
        await Promise.race([once(response, 'drain'), once(response, 'close')]);
        if (response.destroyed) return false;
      }
    }
    return !response.destroyed;
  } finally {
    clearInterval(keepAlive);
  }
}
