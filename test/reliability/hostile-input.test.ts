import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeUrl, startTestGateway, type TestGateway } from '../support/gateway.js';
import { createTestSchema } from '../support/gateway-process.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

/**
 * Issue point 5: hostile input. Whatever a client sends, in the body, the headers or the pace of
 * its bytes, it gets a 200 or a 4xx error envelope (SPEC §9.1), or its connection is closed by a
 * timeout (§13.4); memory stays bounded and the server stays healthy. Request events go to
 * PostgreSQL, the engine that refuses NUL and lone surrogates, so storage is checked too (§10).
 */

const maxBodyBytes = 64 * 1024;
const headersTimeoutMs = 500;

let gateway: TestGateway;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let database: pg.Client;
let port: number;
let run = 0;
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(async () => {
  schema = await createTestSchema();
  gateway = await startTestGateway({
    env: { MANIAC_DATABASE_URL: schema.url },
    file: {
      server: { maxBodyBytes, headersTimeoutMs },
      // Random keys and headers land in the anonymous per-IP bucket; keep it out of the way.
      rateLimit: { anonymousLimit: 1_000_000 },
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo', 'controlled'],
        },
      },
    },
  });
  port = Number(new URL(gateway.url).port);
  database = new pg.Client({ connectionString: schema.url });
  await database.connect();
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await database?.end();
  await schema?.drop();
});

const allowedStatuses = [200, 400, 401, 402, 403, 404, 429];
const typeOfStatus: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'invalid_request_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
};

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** The invariant of this file: a 200, or a 4xx with exactly the OpenAI error envelope. */
function expectAnswered(answer: Answer, context: string): void {
  expect(allowedStatuses, `${context}: ${answer.status} ${answer.text.slice(0, 300)}`).toContain(
    answer.status,
  );
  if (answer.status === 200) return;
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text);
  assertOpenAiSchema('ErrorResponse', body);
  expect(Object.keys(body).sort()).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.type).toBe(typeOfStatus[answer.status]);
}

async function post(body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...gateway.headers, ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const validEntries: [string, unknown][] = [
  ['model', 'local/echo'],
  ['messages', [{ role: 'user', content: 'hi' }]],
];

/** JSON text from entries, so keys such as `__proto__` are written as they are, even twice. */
function objectText(entries: [string, unknown][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
}

function requestIdPrefix(label: string): string {
  run += 1;
  return `hostile-${label}-${process.pid}-${run}-`;
}

/** Request id → stored rows, for the request ids that start with `prefix`. */
async function storedEvents(prefix: string): Promise<Map<string, number>> {
  const { rows } = await database.query<{ request_id: string; rows: number }>(
    'select request_id, count(*)::int as rows from request_events where request_id like $1 group by request_id',
    [`${prefix}%`],
  );
  return new Map(rows.map((row) => [row.request_id, row.rows]));
}

/** Waits (bounded) until the gateway finished `count` requests, then writes their events. */
async function flushEvents(count: number): Promise<void> {
  for (let turn = 0; turn < 10_000 && gateway.finished.length < count; turn++) await nextTurn();
  await gateway.app.flushTelemetry();
}

const hostileKeys = [
  '__proto__',
  'constructor',
  'prototype',
  'model',
  'messages',
  'temperature',
  'max_tokens',
  'stream',
  'tools',
  'tool_choice',
  'response_format',
  'tags',
  'metadata',
  'trace',
  'models',
  'n',
  'stop',
  'reasoning',
  'store',
];

/** Characters a careless store or log chokes on: C0 controls, DEL, lone surrogates, plain ASCII. */
const awkwardCharacter = fc
  .oneof(
    fc.integer({ min: 0, max: 0x1f }),
    fc.constant(0x7f),
    fc.integer({ min: 0xd800, max: 0xdfff }),
    fc.integer({ min: 0x20, max: 0x7e }),
  )
  .map((code) => String.fromCharCode(code));
const awkwardString = (maxLength: number) => fc.string({ unit: awkwardCharacter, minLength: 1, maxLength });

describe('hostile bodies (property-based)', () => {
  it('any JSON value as the body is answered with a 200 or a 4xx envelope', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        expectAnswered(await post(JSON.stringify(value)), JSON.stringify(value).slice(0, 200));
      }),
      { numRuns: 120 },
    );
  });

  it('hostile fields on a valid request, `__proto__` and `constructor` included, pollute nothing', async () => {
    const entry = fc.tuple(fc.constantFrom(...hostileKeys), fc.jsonValue({ maxDepth: 4 }));
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 6 }), async (entries) => {
        const text = objectText([...validEntries, ...entries]);
        expectAnswered(await post(text), text.slice(0, 300));
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
      }),
      { numRuns: 150 },
    );
    const polluting = objectText([
      ...validEntries,
      ['__proto__', { polluted: 'yes' }],
      ['constructor', { prototype: { polluted: 'yes' } }],
      [
        'metadata',
        JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}'),
      ],
      ['tags', ['__proto__', 'constructor']],
    ]);
    expect((await post(polluting)).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
  });

  it('control characters and lone surrogates in tags and metadata: answered, each event stored once', async () => {
    const prefix = requestIdPrefix('tags');
    const finishedBefore = gateway.finished.length;
    let sent = 0;
    const tags = fc.array(awkwardString(64), { maxLength: 32 });
    const metadata = fc.dictionary(
      awkwardString(64),
      fc.oneof(awkwardString(200), fc.jsonValue({ maxDepth: 2 })),
      {
        maxKeys: 8,
      },
    );
    await fc.assert(
      fc.asyncProperty(tags, metadata, awkwardString(40), async (tagList, metadataValue, traceName) => {
        const requestId = `${prefix}${sent++}`;
        const text = objectText([
          ...validEntries,
          ['tags', tagList],
          ['metadata', metadataValue],
          ['trace', { id: `trace-${requestId}`, name: traceName }],
        ]);
        const answer = await post(text, { 'x-request-id': requestId });
        expectAnswered(answer, text.slice(0, 300));
        expect(answer.headers.get('x-request-id')).toBe(requestId);
      }),
      { numRuns: 80 },
    );
    // Exactly one event per request (SPEC §10), the 400s included, none refused by the database.
    await flushEvents(finishedBefore + sent);
    const events = await storedEvents(prefix);
    expect(events.size).toBe(sent);
    expect([...events.values()].every((rows) => rows === 1)).toBe(true);
    const dropped = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(dropped).toMatch(/^maniac_telemetry_dropped_events_total 0$/m);
  });

  it('invalid UTF-8 and random bytes in the body are answered with a 200 or a 4xx envelope', async () => {
    const head = Buffer.from('{"model":"local/echo","messages":[{"role":"user","content":"');
    const tail = Buffer.from('"}]}');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, isInsideString) => {
        const body = isInsideString ? Buffer.concat([head, bytes, tail]) : bytes;
        expectAnswered(await post(body), `bytes ${Buffer.from(bytes).toString('hex').slice(0, 200)}`);
      }),
      { numRuns: 100 },
    );
    // The classic invalid sequences: overlong, a lone continuation byte, a truncated sequence, UTF-16.
    for (const bytes of [[0xc0, 0xaf], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xff, 0xfe]]) {
      expectAnswered(await post(Buffer.concat([head, Buffer.from(bytes), tail])), `bytes ${bytes}`);
    }
  });

  it('huge strings: up to the body limit served, past it refused unread, memory bounded', async () => {
    const gc = exposeGc();
    await gateway.app.flushTelemetry();
    gateway.finished.length = 0;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const fits = objectText([
      ['model', 'local/echo'],
      ['messages', [{ role: 'user', content: 'x'.repeat(maxBodyBytes - 200) }]],
    ]);
    const tooLarge = objectText([
      ['model', 'local/echo'],
      ['messages', [{ role: 'user', content: 'y'.repeat(4 * 1024 * 1024) }]],
    ]);
    for (let round = 0; round < 20; round++) {
      expect((await post(fits)).status, 'a body just under the limit').toBe(200);
      const refused = await post(tooLarge);
      expectAnswered(refused, 'a body over the limit');
      expect(JSON.parse(refused.text).error.code).toBe('request_too_large');
      const hugeHeader = await post(fits, {
        'x-request-id': 'r'.repeat(8 * 1024),
        'user-agent': 'u'.repeat(4096),
      });
      expect(hugeHeader.status, 'large header values').toBe(200);
    }
    await gateway.app.flushTelemetry();
    gateway.finished.length = 0;
    gc();
    const grownBytes = process.memoryUsage().heapUsed - heapBefore;
    expect(grownBytes, `heap grew by ${Math.round(grownBytes / 1024)} KiB`).toBeLessThan(16 * 1024 * 1024);
  });

  /**
   * Known bug (docs/reliability.md): nothing bounds nesting depth, and recursive JSON.stringify calls
   * (the metadata size check, the upstream request body) overflow the stack: 500 `internal_error`
   * for a 20 KB body. Flip to `it` once fixed.
   */
  it('deep nesting is refused with a 400 envelope, wherever it hides', async () => {
    // Built as text: the test's own JSON.stringify would overflow on these values too.
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const valid = objectText(validEntries).slice(0, -1);
    const places = (value: string): [string, string][] => [
      ['metadata', `"metadata":{"deep":${value}}`],
      ['an unknown field', `"extra":${value}`],
      [
        'tool parameters',
        `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","x":${value}}}}]`,
      ],
      [
        'response_format schema',
        `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"x":${value}}}}`,
      ],
    ];
    for (const [place, field] of places(nested(32))) {
      expect((await post(`${valid},${field}}`)).status, `depth 32 in ${place}`).toBe(200);
    }
    for (const [place, field] of places(nested(10_000))) {
      const answer = await post(`${valid},${field}}`);
      expectAnswered(answer, `depth 10 000 in ${place}`);
      expect(answer.status).toBe(400);
    }
  });

  it('the depth limit is 128 levels, counted from the body itself, not the number of brackets', async () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const valid = objectText(validEntries).slice(0, -1);
    // The body is level 1, so an unknown field may hold 127 more levels and not 128.
    expect((await post(`${valid},"extra":${nested(127)}}`)).status).toBe(200);
    const tooDeep = await post(`${valid},"extra":${nested(128)}}`);
    expect(tooDeep.status).toBe(400);
    expect(JSON.parse(tooDeep.text).error.message).toContain('nested deeper than 128 levels');
    // Many brackets side by side are not depth.
    const wide = Array.from({ length: 300 }, () => '{"a":[1]}').join(',');
    expect((await post(`${valid},"extra":[${wide}]}`)).status).toBe(200);
  });
});

describe('hostile headers', () => {
  const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
  const headerValue = fc.string({ unit: 'binary-ascii', maxLength: 200 }).map((value) =>
    // What a well-formed HTTP client can send: visible ASCII and inner spaces, no controls.
    value.replace(/[^\x21-\x7e ]/g, '').trim(),
  );

  it('any header values a client can send are answered with a 200 or a 4xx envelope', async () => {
    const names = [
      'authorization',
      'x-request-id',
      'user-agent',
      'traceparent',
      'x-forwarded-for',
      'content-type',
      'x-maniac-org',
      'x-maniac-project',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...names), headerValue, { maxKeys: 5 }),
        async (headers) => {
          const answer = await post(objectText(validEntries), headers);
          expectAnswered(answer, JSON.stringify(headers));
          const sentId = headers['x-request-id'];
          const echoed = answer.headers.get('x-request-id') ?? '';
          if (sentId !== undefined && requestIdPattern.test(sentId)) expect(echoed).toBe(sentId);
          else expect(echoed).toMatch(/^req_[0-9A-Z]{26}$/);
        },
      ),
      { numRuns: 100 },
    );
  });

  /**
   * Known bug (docs/reliability.md): HTTP the parser refuses never reaches the gateway's error
   * handler; Fastify's default client-error handler answers 400 or 431 with its own
   * `{"error","message","statusCode"}` body, not the envelope. Flip to `it` once fixed.
   */
  it('malformed HTTP (bad header bytes, oversized headers, a garbage request line) gets an envelope or is closed', async () => {
    const cases = [
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`,
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n',
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'HELLO THERE\r\n\r\n',
    ];
    for (const request of cases)
      expectEnvelopeOrClosed(await rawExchange(request, 3_000), request.slice(0, 80));
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: awkwardCharacter, minLength: 1, maxLength: 40 }), async (value) => {
        // A value the parser accepts (tabs, spaces, visible ASCII) makes a good request: 200 is fine.
        const request = `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Value: ${value}\r\n\r\n`;
        const received = await rawExchange(request, 3_000);
        if (!received.startsWith('HTTP/1.1 200 ')) expectEnvelopeOrClosed(received, JSON.stringify(value));
      }),
      { numRuns: 40 },
    );
  });
});

describe('slow and idle clients (SPEC §13.4)', () => {
  /**
   * Known bug (docs/reliability.md): Node checks `headersTimeout` only every
   * `connectionsCheckingInterval` (30 s by default), and the gateway does not lower it, so a
   * 500 ms header timeout closes a slow client after up to 30 s; the answer is then Fastify's
   * 408 body, not the envelope. Flip to `it` once fixed.
   */
  it('a client sending its headers byte by byte is cut off by the header timeout', async () => {
    const socket = await openSocket();
    const startedAt = performance.now();
    const closed = once(socket, 'close');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    const request = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(200)}`;
    for (let index = 0; index < request.length && !socket.destroyed; index++) {
      socket.write(request[index] as string);
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 20))]);
      if (performance.now() - startedAt > headersTimeoutMs + 2_000) break;
    }
    const wasClosed = socket.destroyed || socket.readableEnded;
    socket.destroy();
    expect(wasClosed, `still open after ${Math.round(performance.now() - startedAt)} ms`).toBe(true);
    expectEnvelopeOrClosed(received, 'slow headers');
  });

  /**
   * Known bug (docs/reliability.md): each time a slow reader makes the socket refuse a write,
   * `pipeFrames` waits on `once(response, 'drain')` raced with `once(response, 'close')`; the loser
   * keeps its listeners until the stream ends, so a long stream to a slow client piles up two
   * listeners per stall (and Node warns MaxListenersExceeded). Flip to `it` once fixed.
   */
  it('a slow reader on a long stream does not pile up listeners on the response', async () => {
    let serverResponse: ServerResponse | undefined;
    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      if (request.url === '/v1/chat/completions') serverResponse = response;
    };
    gateway.app.server.server.on('request', onRequest);
    const controlledNext = gateway.fake.nextControlled();
    const opening = fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: gateway.headers,
      body: objectText([
        ...validEntries.map(([key, value]): [string, unknown] => [
          key,
          key === 'model' ? 'local/controlled' : value,
        ]),
        ['stream', true],
      ]),
    });
    const controlled = await controlledNext;
    const chunk = (content: string) =>
      `data: ${JSON.stringify({ id: 'x', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    controlled.sendRaw(chunk('start'));
    const response = await opening;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    // One wait in progress may hold a listener of each kind; nothing else may be added per stall.
    const closeListeners = (serverResponse?.listenerCount('close') ?? 0) + 1;
    const errorListeners = (serverResponse?.listenerCount('error') ?? 0) + 1;
    const piece = chunk('y'.repeat(16 * 1024));
    let pendingRead: Promise<unknown> | undefined;
    let stalls = 0;
    try {
      for (let cycle = 0; cycle < 4; cycle++) {
        // The client reads nothing: the gateway's writes are refused and it stops reading upstream.
        let isBlocked = false;
        for (let sentBytes = 0; !isBlocked && sentBytes < 64 * 1024 * 1024; sentBytes += piece.length) {
          isBlocked = !controlled.sendRaw(piece) && !(await controlled.drained(150));
        }
        if (!isBlocked) break;
        stalls++;
        // Then it reads until the upstream can write again.
        let isDrained = false;
        const drained = controlled.drained(5_000).then(() => {
          isDrained = true;
        });
        for (let reads = 0; !isDrained && reads < 100_000; reads++) {
          pendingRead ??= reader.read().then(() => {
            pendingRead = undefined;
          });
          await Promise.race([pendingRead, drained]);
        }
      }
      expect(stalls).toBeGreaterThanOrEqual(3);
      expect(serverResponse?.listenerCount('close')).toBeLessThanOrEqual(closeListeners);
      expect(serverResponse?.listenerCount('error')).toBeLessThanOrEqual(errorListeners);
    } finally {
      gateway.app.server.server.off('request', onRequest);
      controlled.reset();
      await reader.cancel().catch(() => undefined);
    }
  });

  it('many idle connections do not stop the server from answering', async () => {
    const sockets = await Promise.all(Array.from({ length: 200 }, () => openSocket()));
    try {
      const startedAt = performance.now();
      const answer = await post(objectText(validEntries));
      expect(answer.status).toBe(200);
      expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
      expect(performance.now() - startedAt).toBeLessThan(2_000);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  /** Known bug, same cause as the slow-headers case: idle connections outlive the header timeout. */
  it('idle connections that never send a request are closed by the header timeout', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, () => openSocket()));
    const closedInTime = await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), headersTimeoutMs + 2_000);
            socket.once('close', () => {
              clearTimeout(timer);
              resolve(true);
            });
          }),
      ),
    );
    for (const socket of sockets) socket.destroy();
    expect(closedInTime.filter((isClosed) => !isClosed)).toHaveLength(0);
  });
});

describe('afterwards', () => {
  it('the server is healthy, ready and serving, and Object.prototype untouched', async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { storage: 'ok' } });
    expect((await post(objectText(validEntries))).status).toBe(200);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
  });
});

function openSocket(): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  return once(socket, 'connect').then(() => socket);
}

/** Writes raw bytes and collects the answer until the server closes or `timeoutMs` passes. */
async function rawExchange(request: string, timeoutMs: number): Promise<string> {
  const socket = await openSocket();
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  socket.write(request);
  await once(socket, 'close');
  clearTimeout(timer);
  return received;
}

/** Nothing at all (closed), or an HTTP answer with an allowed 4xx status and the envelope. */
function expectEnvelopeOrClosed(received: string, context: string): void {
  if (received === '') return;
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1]);
  expect(
    allowedStatuses.filter((allowed) => allowed >= 400),
    `${context}: ${received.slice(0, 300)}`,
  ).toContain(status);
  const body = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4));
  assertOpenAiSchema('ErrorResponse', body);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
}

/** The V8 collector, exposed at run time so heap growth can be measured after a full collection. */
function exposeGc(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}
