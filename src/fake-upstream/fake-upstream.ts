import { EventEmitter, once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isFaultScenario } from './faults.js';
import { type FakeFormat, openAiFormat } from './formats.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  format: string;
  model: string;
  /** True once the client hung up before the answer was complete. */
  isAborted: boolean;
}

/** A stream the test drives by hand (scenario `controlled`): chunk, pause, disconnect. */
export interface ControlledStream {
  request: RecordedRequest;
  /** Sends one event (a transcript line, framed by the format); false when the socket buffer is full. */
  send(line: string): boolean;
  /** Sends bytes as they are. */
  sendRaw(text: string): boolean;
  /** Resolves true once the socket drained, false if it did not within `timeoutMs` (backpressure). */
  drained(timeoutMs: number): Promise<boolean>;
  end(): void;
  reset(): void;
}

export interface FakeUpstreamOptions {
  port?: number;
  host?: string;
  /** Delay for `slow-first-byte` and between events for `slow-stream`. */
  slowMs?: number;
  /** Body size for `oversized`. */
  oversizedBytes?: number;
  formats?: FakeFormat[];
}

interface Transcript {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
}

const packageRoot = new URL('../../', import.meta.url);

function readTranscript(
  format: string,
  scenario: string,
): { json?: Transcript; lines?: string[] } | undefined {
  if (!/^[a-z0-9-]+$/.test(scenario)) return undefined;
  const folder = new URL(`src/providers/${format}/__fixtures__/`, packageRoot);
  const jsonUrl = new URL(`${scenario}.json`, folder);
  const chunksUrl = new URL(`${scenario}.chunks.txt`, folder);
  const out: { json?: Transcript; lines?: string[] } = {};
  if (existsSync(jsonUrl)) out.json = JSON.parse(readFileSync(jsonUrl, 'utf8')) as Transcript;
  if (existsSync(chunksUrl)) {
    out.lines = readFileSync(chunksUrl, 'utf8')
      .split('\n')
      .filter((line) => line.trim().length > 0);
  }
  return out.json || out.lines ? out : undefined;
}

/**
 * A loopback provider for tests and benchmarks. See README.md in this folder.
 */
export class FakeUpstream extends EventEmitter {
  readonly requests: RecordedRequest[] = [];
  /** What `GET /models` lists; `undefined` makes it fail with 503. */
  modelList: string[] | undefined = ['echo', 'tools'];
  modelListRequests = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly responses = new Set<ServerResponse>();
  private readonly options: Required<Omit<FakeUpstreamOptions, 'port' | 'host'>>;
  url = '';
  origin = '';

  private constructor(options: FakeUpstreamOptions) {
    super();
    this.options = {
      slowMs: options.slowMs ?? 300,
      oversizedBytes: options.oversizedBytes ?? 2 * 1024 * 1024,
      formats: options.formats ?? [openAiFormat],
    };
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.emit('closed');
      });
    });
  }

  static async start(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
    const fake = new FakeUpstream(options);
    fake.server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await once(fake.server, 'listening');
    const address = fake.server.address() as AddressInfo;
    fake.origin = `http://${options.host ?? '127.0.0.1'}:${address.port}`;
    fake.url = `${fake.origin}/v1`;
    return fake;
  }

  /** Resolves with the next request whose client hangs up early. */
  nextAbort(): Promise<RecordedRequest> {
    return once(this, 'aborted').then(([request]) => request as RecordedRequest);
  }

  /** Resolves with the next `controlled` stream once its request arrived. */
  nextControlled(): Promise<ControlledStream> {
    return once(this, 'controlled').then(([stream]) => stream as ControlledStream);
  }

  reset(): void {
    this.requests.length = 0;
  }

  /** Client connections open right now (idle keep-alive ones included). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Answers begun and neither finished nor cut off: a client that went away left none of these. */
  get openResponses(): number {
    return this.responses.size;
  }

  /**
   * Resolves true once at most `count` client connections are open, false if that has not happened
   * within `timeoutMs` (a connection the client leaked, or one it keeps busy).
   */
  whenOpenSocketsAtMost(count: number, timeoutMs: number): Promise<boolean> {
    return this.whenAtMost(() => this.sockets.size, count, timeoutMs);
  }

  /** Like `whenOpenSocketsAtMost`, for answers still in progress. */
  whenOpenResponsesAtMost(count: number, timeoutMs: number): Promise<boolean> {
    return this.whenAtMost(() => this.responses.size, count, timeoutMs);
  }

  private whenAtMost(measure: () => number, count: number, timeoutMs: number): Promise<boolean> {
    if (measure() <= count) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const onClosed = () => {
        if (measure() > count) return;
        clearTimeout(timer);
        this.off('closed', onClosed);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.off('closed', onClosed);
        resolve(measure() <= count);
      }, timeoutMs);
      this.on('closed', onClosed);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close').catch(() => undefined);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = {};
    }
    const path = (request.url ?? '/').split('?')[0] as string;
    if (request.method === 'GET' && path.endsWith('/models')) {
      this.modelListRequests++;
      this.emit('models', request.headers);
      if (this.modelList === undefined) {
        this.json(response, 503, {
          error: { message: 'fake upstream: model list unavailable', type: 'server_error' },
        });
        return;
      }
      this.json(response, 200, {
        object: 'list',
        data: this.modelList.map((id) => ({ id, object: 'model' })),
      });
      return;
    }
    let format: FakeFormat | undefined;
    let match: { model: string; isStream: boolean } | undefined;
    for (const candidate of this.options.formats) {
      match = candidate.matchPath(path);
      if (match) {
        format = candidate;
        break;
      }
    }
    if (!format || !match) {
      this.json(response, 404, {
        error: { message: `fake upstream: no route ${path}`, type: 'invalid_request_error' },
      });
      return;
    }
    const model = match.model || format.modelFromBody(body);
    const isStream = match.isStream || format.isStreamFromBody(body);
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path,
      headers: request.headers,
      body,
      format: format.name,
      model,
      isAborted: false,
    };
    this.requests.push(recorded);
    this.responses.add(response);
    response.once('close', () => {
      this.responses.delete(response);
      this.emit('closed');
      if (!response.writableFinished) {
        recorded.isAborted = true;
        this.emit('aborted', recorded);
      }
    });
    this.emit('request', recorded);
    await this.answer(format, recorded, isStream, response);
  }

  private json(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    response.end(text);
  }

  private startStream(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.flushHeaders();
  }

  private async answer(
    format: FakeFormat,
    recorded: RecordedRequest,
    isStream: boolean,
    response: ServerResponse,
  ) {
    const { model, body } = recorded;
    const echo = () => format.echo(body, isStream);
    const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    if (isFaultScenario(model)) {
      switch (model) {
        case 'stall':
          return;
        case 'reset-before-headers':
          response.socket?.destroy();
          return;
        case 'slow-first-byte':
          await delay(this.options.slowMs);
          break;
        case 'malformed-json':
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"id":"chatcmpl-broken","choices":[{"index":0,');
          return;
        case 'wrong-content-type':
          response.writeHead(200, { 'content-type': 'text/html' });
          response.end('<html><body>Bad gateway</body></html>');
          return;
        case 'oversized': {
          const filler = 'x'.repeat(this.options.oversizedBytes);
          if (isStream) {
            // One event of `oversizedBytes`: a gateway that buffers whole events must refuse it.
            this.startStream(response);
            const chunk = {
              id: 'chatcmpl-huge',
              object: 'chat.completion.chunk',
              choices: [{ index: 0, delta: { role: 'assistant', content: filler }, finish_reason: null }],
            };
            response.end(format.frame(JSON.stringify(chunk)));
            return;
          }
          this.json(response, 200, {
            id: 'chatcmpl-huge',
            choices: [{ index: 0, message: { role: 'assistant', content: filler } }],
          });
          return;
        }
        case 'controlled': {
          this.startStream(response);
          const stream: ControlledStream = {
            request: recorded,
            send: (line) => response.write(format.frame(line)),
            sendRaw: (text) => response.write(text),
            drained: (timeoutMs) =>
              new Promise<boolean>((resolve) => {
                const timer = setTimeout(() => {
                  response.off('drain', onDrain);
                  resolve(false);
                }, timeoutMs);
                const onDrain = () => {
                  clearTimeout(timer);
                  resolve(true);
                };
                response.once('drain', onDrain);
              }),
            end: () => response.end(format.trailer),
            reset: () => response.socket?.destroy(),
          };
          this.emit('controlled', stream);
          return;
        }
        default:
          break;
      }
    }
    if (!isStream && this.breakPlainBody(model, () => echo().json, response)) return;
    const transcript = isFaultScenario(model) ? undefined : readTranscript(format.name, model);
    if (!isStream) {
      if (transcript?.json) {
        this.json(response, transcript.json.status ?? 200, transcript.json.body, transcript.json.headers);
        return;
      }
      const echoed = echo();
      if (transcript?.lines || !echoed.json) {
        this.json(response, 400, {
          error: { message: `fake upstream: no plain transcript '${model}'`, type: 'invalid_request_error' },
        });
        return;
      }
      this.json(response, 200, echoed.json);
      return;
    }
    if (transcript?.json && !transcript.lines) {
      this.json(response, transcript.json.status ?? 200, transcript.json.body, transcript.json.headers);
      return;
    }
    const lines = (transcript?.lines ?? echo().lines ?? []).filter((line) => format.keepLine(line, body));
    this.startStream(response);
    for (let index = 0; index < lines.length; index++) {
      if (response.destroyed) return;
      if (model === 'malformed-sse' && index === 2) {
        response.write('data: {"id":"chatcmpl-broken","choices":[{"delta":\n\n');
      }
      if ((model === 'stall-mid-stream' || model === 'reset-mid-stream') && index === 2) {
        // Let the events already written reach the client before the socket goes.
        if (model === 'reset-mid-stream') response.write('', () => response.socket?.destroy());
        return;
      }
      if (model === 'slow-stream' && index > 0) await delay(this.options.slowMs);
      response.write(format.frame(lines[index] as string));
    }
    response.end(format.trailer);
  }

  /**
   * The stream faults, played on a plain (non-streamed) answer: `stall-mid-stream` and
   * `reset-mid-stream` send the headers and half the JSON body, then go silent or reset the socket;
   * `malformed-sse` answers a plain request with a broken event stream. False for other scenarios.
   */
  private breakPlainBody(model: string, echoed: () => unknown, response: ServerResponse): boolean {
    if (model === 'malformed-sse') {
      this.startStream(response);
      response.end('data: {"id":"chatcmpl-broken","choices":[{"delta":\n\n');
      return true;
    }
    if (model !== 'stall-mid-stream' && model !== 'reset-mid-stream') return false;
    const text = JSON.stringify(echoed() ?? { id: 'chatcmpl-fake', choices: [] });
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    const half = text.slice(0, Math.floor(text.length / 2));
    if (model === 'stall-mid-stream') response.write(half);
    else response.write(half, () => response.socket?.destroy());
    return true;
  }
}
