import { createServer } from 'node:http';
import { Pool } from 'undici';
import { integerArgument, serveForParent } from './loopback-server.js';

/**
 * A second reference: the least a Node proxy hop does, as PERF-NOTES' prototypes measured it. A
 * plain node:http server that reads the request body, parses it, forwards it re-serialized through
 * an undici `Pool` to the bare upstream, parses the answer, adds one field and answers it
 * re-serialized. No key, limit, log, validation or routing: the floor the gateway's own work sits on,
 * measured on the same machine in the same run.
 *
 * Usage: tsx bench/minimal-hop.ts --upstream http://127.0.0.1:N [--port N]
 */

const upstreamIndex = process.argv.indexOf('--upstream');
const upstream = upstreamIndex === -1 ? undefined : process.argv[upstreamIndex + 1];
if (upstream === undefined) throw new Error('--upstream ORIGIN is required');
const pool = new Pool(upstream, { connections: 128 });

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.once('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    pool
      .request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      .then(async (answer) => {
        const completion = (await answer.body.json()) as Record<string, unknown>;
        completion.provider = 'bare';
        const text = JSON.stringify(completion);
        response.writeHead(answer.statusCode, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        response.end(text);
      })
      .catch((error: unknown) => {
        response.writeHead(502, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: String(error) } }));
      });
  });
});

await serveForParent(server, integerArgument('port', 0));
