import { createServer } from 'node:http';
import { integerArgument, serveForParent } from './loopback-server.js';

/**
 * The reference: a plain node:http server answering a canned chat completion from memory. It is both
 * what the bench measures directly and the upstream the gateway forwards to, so the difference
 * between the two paths is the gateway hop alone. It reads (and drops) the request body without
 * parsing it.
 *
 * Usage: tsx bench/bare-upstream.ts [--port N]
 */

const cannedCompletion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'echo',
    system_fingerprint: 'fp_bench',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello! This is a canned answer from the bench upstream.' },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 13, total_tokens: 25 },
  }),
);

const completionHeaders = {
  'content-type': 'application/json',
  'content-length': String(cannedCompletion.length),
};
const modelList = Buffer.from(JSON.stringify({ object: 'list', data: [{ id: 'echo', object: 'model' }] }));

const server = createServer((request, response) => {
  request.resume();
  request.once('end', () => {
    if (request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': modelList.length });
      response.end(modelList);
      return;
    }
    response.writeHead(200, completionHeaders);
    response.end(cannedCompletion);
  });
});

await serveForParent(server, integerArgument('port', 0));
