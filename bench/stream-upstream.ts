import { createServer } from 'node:http';
import { integerArgument, serveForParent } from './loopback-server.js';

/**
 * An OpenAI-style streaming upstream for the bench: every POST answers with `--chunks` content chunks
 * (the first one carries the role), `--interval-ms` apart like tokens from a model, then a finish
 * chunk, a usage chunk (the gateway always asks for `include_usage`) and `data: [DONE]`. Frames are
 * built once at start-up. The request body is read and dropped; the source's fake upstream cannot
 * be used here because the gateway does not forward `metadata.chunks`.
 *
 * Usage: tsx bench/stream-upstream.ts [--port N] [--chunks 50] [--interval-ms 20]
 */

const chunkCount = Math.max(1, integerArgument('chunks', 50));
const intervalMs = integerArgument('interval-ms', 20);

function frame(choices: unknown[], extra: Record<string, unknown> = {}): Buffer {
  const chunk = {
    id: 'chatcmpl-bench-stream',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'echo',
    system_fingerprint: 'fp_bench',
    choices,
    ...extra,
  };
  return Buffer.from(`data: ${JSON.stringify(chunk)}\n\n`);
}

const contentFrames: Buffer[] = [];
for (let index = 0; index < chunkCount; index++) {
  const delta = index === 0 ? { role: 'assistant', content: 'tok0 ' } : { content: `tok${index} ` };
  contentFrames.push(frame([{ index: 0, delta, logprobs: null, finish_reason: null }]));
}
const trailer = Buffer.concat([
  frame([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
  frame([], { usage: { prompt_tokens: 12, completion_tokens: chunkCount, total_tokens: 12 + chunkCount } }),
  Buffer.from('data: [DONE]\n\n'),
]);

const server = createServer((request, response) => {
  request.resume();
  request.once('end', () => {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    const writeNext = () => {
      if (response.destroyed) return;
      response.write(contentFrames[next] as Buffer);
      next += 1;
      if (next === contentFrames.length) {
        response.end(trailer);
        return;
      }
      timer = setTimeout(writeNext, intervalMs);
    };
    response.once('close', () => clearTimeout(timer));
    writeNext();
  });
});

await serveForParent(server, integerArgument('port', 0));
