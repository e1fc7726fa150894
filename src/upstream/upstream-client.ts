import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, Pool } from 'undici';
import type { TimeoutsConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import { type AbortSignalLike, toAbortSignal } from './abort-source.js';
import type { UpstreamRequest } from './upstream-request.js';

export type UpstreamBody = Dispatcher.ResponseData['body'];

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: UpstreamBody;
}

/** An answer read whole: `sendBuffered`. */
export interface BufferedUpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SendOptions {
  providerName: string;
  timeouts: TimeoutsConfig;
  /** Client disconnect combined with the total deadline; aborting destroys the upstream socket. */
  signal: AbortSignalLike;
}

/** Where a request URL goes, parsed once per distinct URL instead of a `new URL` per call. */
interface Destination {
  origin: string;
  path: string;
}

/** Distinct upstream URLs remembered; past it the cache starts over (they are per provider and model). */
const maxCachedDestinations = 1024;

/** Raised when the caller's signal aborted the call (client gone); never shown to a client. */
export class UpstreamAbortedError extends Error {
  override name = 'UpstreamAbortedError';
}

/**
 * Maps a transport failure to the catalog in one place (SPEC §9.2, STYLE §2 undici). Everything here
 * happened before the upstream answered, so it may fall back.
 */
export function toTransportError(error: unknown, options: SendOptions): GatewayError | UpstreamAbortedError {
  const provider = options.providerName;
  const code = (error as { code?: string } | null)?.code;
  if (options.signal.aborted) {
    const reason = options.signal.reason as { name?: string } | undefined;
    if (reason?.name === 'TimeoutError') {
      return new GatewayError(
        'upstream_timeout',
        { provider, timeoutMs: options.timeouts.totalMs },
        { shouldFallBack: true },
      );
    }
    return new UpstreamAbortedError('client aborted');
  }
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new GatewayError(
        'upstream_timeout',
        { provider, timeoutMs: options.timeouts.connectMs },
        { shouldFallBack: true },
      );
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new GatewayError(
        'upstream_timeout',
        { provider, timeoutMs: options.timeouts.firstByteMs },
        { shouldFallBack: true },
      );
    case 'UND_ERR_BODY_TIMEOUT':
      return new GatewayError(
        'upstream_timeout',
        { provider, timeoutMs: options.timeouts.idleMs },
        { shouldFallBack: true },
      );
    default:
      // Refused, reset, DNS, TLS and socket errors alike: the upstream could not be reached.
      return new GatewayError('upstream_unreachable', { provider }, { shouldFallBack: true, cause: error });
  }
}

/**
 * The one HTTP client that talks to providers: a keep-alive pool per origin (and connect timeout),
 * per-call header and idle timeouts, and an AbortSignal for disconnects and the total deadline.
 * `fetch` is not used: its web-stream machinery costs several times the rest of a hop.
 */
export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();
  private readonly destinations = new Map<string, Destination>();
  private readonly connectionsPerOrigin: number;

  constructor(options: { connectionsPerOrigin?: number } = {}) {
    this.connectionsPerOrigin = options.connectionsPerOrigin ?? 256;
  }

  private destinationOf(url: string): Destination {
    let destination = this.destinations.get(url);
    if (destination === undefined) {
      const parsed = new URL(url);
      destination = { origin: parsed.origin, path: parsed.pathname + parsed.search };
      if (this.destinations.size >= maxCachedDestinations) this.destinations.clear();
      this.destinations.set(url, destination);
    }
    return destination;
  }

  private poolFor(origin: string, connectMs: number): Pool {
    const key = `${origin}|${connectMs}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.connectionsPerOrigin,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: { timeout: connectMs },
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  async send(request: UpstreamRequest, options: SendOptions): Promise<UpstreamResponse> {
    const destination = this.destinationOf(request.url);
    const pool = this.poolFor(destination.origin, options.timeouts.connectMs);
    try {
      const response = await pool.request({
        method: request.method,
        path: destination.path,
        headers: request.headers,
        body: request.body,
        signal: toAbortSignal(options.signal),
        headersTimeout: options.timeouts.firstByteMs,
        bodyTimeout: options.timeouts.idleMs,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw toTransportError(error, options);
    }
  }

  /**
   * Sends and reads the whole answer into memory, for callers that want all of it (a non-streamed
   * completion). A body beyond `maxBytes` is an invalid response. An error status (≥ 400) keeps at
   * most `maxErrorBytes`: a longer error body, or one that breaks off, comes back empty, since the
   * status alone is then the error. It skips `send` + `readBody`'s body stream, async iterator and
   * per-call resource, and parses headers only once.
   */
  sendBuffered(
    request: UpstreamRequest,
    options: SendOptions,
    limits: { maxBytes: number; maxErrorBytes: number },
  ): Promise<BufferedUpstreamResponse> {
    const destination = this.destinationOf(request.url);
    const pool = this.poolFor(destination.origin, options.timeouts.connectMs);
    return new Promise((resolve, reject) => {
      const handler = new BufferingHandler(options, limits, resolve, reject);
      if (!handler.listen()) return;
      pool.dispatch(
        {
          method: request.method,
          path: destination.path,
          headers: request.headers,
          body: request.body,
          headersTimeout: options.timeouts.firstByteMs,
          bodyTimeout: options.timeouts.idleMs,
        },
        handler,
      );
    });
  }

  /**
   * Reads a whole body, refusing more than `maxBytes` (an oversized answer is an invalid response,
   * not an out-of-memory). Timeouts and aborts while reading map like those before the headers.
   */
  async readBody(body: UpstreamBody, maxBytes: number, options: SendOptions): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body) {
        total += (chunk as Buffer).length;
        if (total > maxBytes) {
          body.destroy();
          throw new GatewayError(
            'upstream_invalid_response',
            { provider: options.providerName },
            { shouldFallBack: true },
          );
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw toTransportError(error, options);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  }

  /** Closes every pool, aborting what is still in flight (shutdown has drained by then). */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }
}

/** Collects one answer for `sendBuffered`; settles its promise exactly once. */
class BufferingHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined = undefined;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private total = 0;
  private limit: number;
  private isSettled = false;
  private readonly onAbort = () => {
    const reason = this.options.signal.reason;
    this.controller?.abort(reason instanceof Error ? reason : new Error('aborted'));
    this.fail(reason);
  };

  constructor(
    private readonly options: SendOptions,
    private readonly limits: { maxBytes: number; maxErrorBytes: number },
    private readonly resolve: (response: BufferedUpstreamResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.limit = limits.maxBytes;
  }

  /** Follows the signal; false (and settled) when it has already aborted. */
  listen(): boolean {
    if (this.options.signal.aborted) {
      this.fail(this.options.signal.reason);
      return false;
    }
    this.options.signal.addEventListener('abort', this.onAbort, { once: true });
    return true;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.isSettled) controller.abort(new Error('aborted'));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
    if (statusCode >= 400) this.limit = this.limits.maxErrorBytes;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.isSettled) return;
    this.total += chunk.length;
    if (this.total <= this.limit) {
      this.chunks.push(chunk);
      return;
    }
    const error = new GatewayError(
      'upstream_invalid_response',
      { provider: this.options.providerName },
      { shouldFallBack: true },
    );
    controller.abort(error);
    this.fail(error);
  }

  onResponseEnd(): void {
    const chunks = this.chunks;
    this.succeed(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.total));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  private succeed(body: Buffer): void {
    if (this.settle()) this.resolve({ status: this.status, headers: this.headers, body });
  }

  /** Past an error status, only a client abort fails the call; the status is the answer otherwise. */
  private fail(error: unknown): void {
    const mapped = error instanceof GatewayError ? error : toTransportError(error, this.options);
    if (this.status >= 400 && !(mapped instanceof UpstreamAbortedError)) this.succeed(Buffer.alloc(0));
    else if (this.settle()) this.reject(mapped);
  }

  /** True the first time: stops listening and drops what was read. */
  private settle(): boolean {
    if (this.isSettled) return false;
    this.isSettled = true;
    this.chunks = [];
    this.options.signal.removeEventListener('abort', this.onAbort);
    return true;
  }
}
