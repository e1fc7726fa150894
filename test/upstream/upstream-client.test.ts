import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '#src/errors/gateway-error.js';
import { AbortSource, toAbortSignal } from '#src/upstream/abort-source.js';
import { type SendOptions, UpstreamAbortedError, UpstreamClient } from '#src/upstream/upstream-client.js';

type Route = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let origin: string;
let route: Route;
const received: IncomingMessage[] = [];
const client = new UpstreamClient();

beforeAll(async () => {
  server = createServer((request, response) => {
    received.push(request);
    route(request, response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await client.close();
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  received.length = 0;
});

const timeouts = { connectMs: 1000, firstByteMs: 5000, idleMs: 5000, totalMs: 10_000 };
const limits = { maxBytes: 1024, maxErrorBytes: 64 };

function options(signal = new AbortSource()): SendOptions {
  return { providerName: 'fake', timeouts, signal };
}

function post(path = '/v1/chat/completions') {
  return {
    method: 'POST' as const,
    url: `${origin}${path}`,
    headers: { 'content-type': 'application/json' },
    body: '{"model":"echo"}',
  };
}

/** Answers once the request body has arrived, in the given pieces. */
function answer(status: number, pieces: string[], headers: Record<string, string> = {}): Route {
  return (request, response) => {
    request.resume();
    request.once('end', () => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      for (const piece of pieces) response.write(piece);
      response.end();
    });
  };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('UpstreamClient.sendBuffered', () => {
  it('sends the request and returns the status, headers and the whole body', async () => {
    route = answer(200, ['{"id":', '"x"}'], { 'x-upstream': 'yes' });
    const response = await client.sendBuffered(post('/v1/chat/completions?x=1'), options(), limits);
    expect(response.status).toBe(200);
    expect(response.headers['x-upstream']).toBe('yes');
    expect(JSON.parse(response.body.toString('utf8'))).toEqual({ id: 'x' });
    expect(received[0]?.url).toBe('/v1/chat/completions?x=1');
    expect(received[0]?.headers['content-type']).toBe('application/json');
  });

  it('refuses a body past maxBytes as an invalid response that may fall back', async () => {
    route = answer(200, ['x'.repeat(600), 'x'.repeat(600)]);
    const error = await failure(client.sendBuffered(post(), options(), limits));
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('upstream_invalid_response');
    expect((error as GatewayError).shouldFallBack).toBe(true);
  });

  it('keeps an error body up to maxErrorBytes, and answers a longer one with the status alone', async () => {
    route = answer(429, ['{"error":{"message":"slow down"}}'], { 'retry-after': '3' });
    const short = await client.sendBuffered(post(), options(), limits);
    expect(short.status).toBe(429);
    expect(short.headers['retry-after']).toBe('3');
    expect(short.body.toString('utf8')).toBe('{"error":{"message":"slow down"}}');

    route = answer(500, ['y'.repeat(100)]);
    const long = await client.sendBuffered(post(), options(), limits);
    expect(long.status).toBe(500);
    expect(long.body.length).toBe(0);
  });

  it('stops the upstream call when the client goes away while waiting for headers', async () => {
    route = () => {};
    const abort = new AbortSource();
    const sent = client.sendBuffered(post(), options(abort), limits);
    await waitFor(() => received.length === 1);
    const upstreamRequest = received[0] as IncomingMessage;
    // The server sees the upstream socket go: the request stream errs ('aborted'), then closes.
    upstreamRequest.on('error', () => {});
    const closed = new Promise((resolve) => upstreamRequest.once('close', resolve));
    abort.abort(new Error('client disconnected'));
    expect(await failure(sent)).toBeInstanceOf(UpstreamAbortedError);
    await closed;
  });

  it('maps an abort whose reason is a timeout to upstream_timeout', async () => {
    route = () => {};
    const abort = new AbortSource();
    const sent = client.sendBuffered(post(), options(abort), limits);
    await waitFor(() => received.length === 1);
    const reason = new Error('total deadline');
    reason.name = 'TimeoutError';
    abort.abort(reason);
    const error = await failure(sent);
    expect((error as GatewayError).code).toBe('upstream_timeout');
  });

  it('sends nothing when the signal has already aborted', async () => {
    route = answer(200, ['{}']);
    const abort = new AbortSource();
    abort.abort(new Error('client disconnected'));
    expect(await failure(client.sendBuffered(post(), options(abort), limits))).toBeInstanceOf(
      UpstreamAbortedError,
    );
    // The pool still serves the next call, and the aborted one never reached the server.
    const response = await client.sendBuffered(post(), options(), limits);
    expect(response.status).toBe(200);
    expect(received).toHaveLength(1);
  });

  it('maps an unreachable upstream to upstream_unreachable', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const request = { ...post(), url: `http://127.0.0.1:${port}/v1/chat/completions` };
    const error = await failure(client.sendBuffered(request, options(), limits));
    expect((error as GatewayError).code).toBe('upstream_unreachable');
  });
});

describe('AbortSource', () => {
  it('runs its listeners once, in order, and not after removal', () => {
    const abort = new AbortSource();
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    abort.addEventListener('abort', () => calls.push('first'));
    abort.addEventListener('abort', removed);
    abort.addEventListener('abort', () => calls.push(`second ${String(abort.reason)}`));
    abort.removeEventListener('abort', removed);
    abort.abort('why');
    abort.abort('again');
    expect(calls).toEqual(['first', 'second why']);
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe('why');
  });

  it('gives APIs that need one a real AbortSignal that follows it', () => {
    const abort = new AbortSource();
    const signal = toAbortSignal(abort);
    expect(signal.aborted).toBe(false);
    abort.abort(new Error('gone'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('gone');

    const native = new AbortController().signal;
    expect(toAbortSignal(native)).toBe(native);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 1000 && !condition(); attempt++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(condition()).toBe(true);
}
