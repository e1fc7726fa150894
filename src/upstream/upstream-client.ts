import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, Pool } from 'undici';
import type { TimeoutsConfig } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { UpstreamRequest } from './upstream-request.js';

export type UpstreamBody = Dispatcher.ResponseData['body'];

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: UpstreamBody;
}

export interface SendOptions {
  providerName: string;
  timeouts: TimeoutsConfig;
  /** Client disconnect combined with the total deadline; aborting destroys the upstream socket. */
  signal: AbortSignal;
}

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
  private readonly connectionsPerOrigin: number;

  constructor(options: { connectionsPerOrigin?: number } = {}) {
    this.connectionsPerOrigin = options.connectionsPerOrigin ?? 256;
  }

  private poolFor(url: URL, connectMs: number): Pool {
    const key = `${url.origin}|${connectMs}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(url.origin, {
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
    const url = new URL(request.url);
    const pool = this.poolFor(url, options.timeouts.connectMs);
    try {
      const response = await pool.request({
        method: request.method,
        path: url.pathname + url.search,
        headers: request.headers,
        body: request.body,
        signal: options.signal,
        headersTimeout: options.timeouts.firstByteMs,
        bodyTimeout: options.timeouts.idleMs,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw toTransportError(error, options);
    }
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
