import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ChatCompletionsHandler } from '../api/chat-completions.js';
import { listModels, retrieveModel } from '../api/models.js';
import type { ResponsesService } from '../api/responses.js';
import { bearerToken, isSameSecret, sha256 } from '../auth/internal-key.js';
import type { KeyAuthenticator } from '../auth/key-authenticator.js';
import type { Principal } from '../auth/principal.js';
import { type RateLimitSubject, rateLimitSubjectOf } from '../auth/rate-limit-subject.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Ids } from '../ids.js';
import { clientIpOf, type RateLimiter, toRateLimitError, toRateLimitHeaders } from '../limits/index.js';
import type { ModelCatalog } from '../routing/model-catalog.js';
import { sseErrorThenDone } from '../stream/sse-writer.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { newRequestRecord, type RequestRecord } from '../telemetry/request-event.js';
import { AbortSource } from '../upstream/abort-source.js';
import { type AdminRouteDeps, registerAdminRoutes } from './admin-routes.js';
import { defaultConsoleRootDir, isConsolePath, registerConsoleRoutes } from './console-routes.js';
import { toGatewayError } from './error-reply.js';
import { buildOpenApiDocument } from './openapi.js';
import { type PlatformDeps, registerPlatformRoutes } from './platform-routes.js';
import { requestIdFrom } from './request-id.js';
import { registerResponsesRoutes } from './responses-routes.js';
import { pipeFrames } from './stream-reply.js';

export interface HttpDeps {
  config: Config;
  catalog: ModelCatalog;
  chatCompletions: ChatCompletionsHandler;
  /** The Responses API (SPEC §12); without it its routes are unknown. */
  responses?: ResponsesService;
  /** Step 3 (never throws) and step 5 (throws the §6 errors) of the pipeline. */
  auth: Pick<KeyAuthenticator, 'lookup' | 'verdict'>;
  /** Step 4; `undefined` decisions (internal key) set no headers. */
  rateLimiter: Pick<RateLimiter, 'check'>;
  logger: Logger;
  metrics: Metrics;
  ids: Ids;
  clock: Clock;
  /** Readiness, as SPEC §13.3 defines it. */
  readiness(): { status: 'ready' | 'starting' | 'draining'; checks: Record<string, 'ok' | 'degraded'> };
  isDraining(): boolean;
  /** The platform endpoints of SPEC §11 (stored completions, containers, traces, usage). */
  platform?: PlatformDeps;
  /** The built web console (docs/console.md); default dist/console. */
  consoleRootDir?: string;
  /** The admin API (docs/admin.md); it answers only when `auth.adminToken` is set. */
  admin?: Omit<AdminRouteDeps, 'adminToken'>;
  /** Called once per /v1 request with its finished record (telemetry hooks in here). */
  onRequestFinished?(request: FinishedRequest): void;
}

export interface FinishedRequest {
  requestId: string;
  principal: Principal | undefined;
  record: RequestRecord;
  status: number;
  latencyMs: number;
  receivedAtMs: number;
  userAgent: string | undefined;
  clientIp: string;
  rateLimitSubject: RateLimitSubject | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    rateLimitSubject: RateLimitSubject | undefined;
    clientIp: string;
    /** Set for every routed (non-public) request by the onRequest hook. */
    record: RequestRecord | undefined;
    receivedAtMs: number;
    startedAt: number;
    isFinished: boolean;
  }
}

/** Routes that answer without a key and outside the /v1 pipeline. */
const publicPaths = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

export interface HttpServer {
  app: FastifyInstance;
  /** Ends every open stream now with the in-band `shutting_down` error (the drain deadline). */
  stopStreams(): void;
  /** Streams still open. */
  openStreams(): number;
}

function noSchemas(): never {
  throw new Error('Routes declare no Fastify schema: api/ validates request bodies.');
}

/** Only src/http imports the framework. Everything here adapts Fastify to the api/ handlers. */
export function buildHttpServer(deps: HttpDeps): HttpServer {
  const { config, logger, metrics, clock } = deps;
  const activeStreams = new Set<AbortController>();
  const app = Fastify({
    logger: false,
    bodyLimit: config.server.maxBodyBytes,
    genReqId: (request) =>
      requestIdFrom(request.headers['x-request-id'], () => deps.ids.request(clock.now())),
    requestIdHeader: false,
    return503OnClosing: false,
    forceCloseConnections: false,
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    requestTimeout: config.server.requestTimeoutMs,
    connectionTimeout: 0,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1000 },
    // Node enforces headersTimeout only when it sweeps its connections, every 30 s by default.
    http: {
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(1_000, Math.floor(config.server.headersTimeoutMs / 2)),
      ),
    },
    clientErrorHandler: answerClientError,
    // No route declares a Fastify schema (api/ validates the bodies it parses): without these, every
    // start loads Fastify's Ajv and fast-json-stringify compilers for nothing.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
  });
  app.server.headersTimeout = config.server.headersTimeoutMs;

  app.decorateRequest('principal', undefined);
  app.decorateRequest('rateLimitSubject', undefined);
  app.decorateRequest('clientIp', '');
  app.decorateRequest('record', undefined);
  app.decorateRequest('receivedAtMs', 0);
  app.decorateRequest('startedAt', 0);
  app.decorateRequest('isFinished', false);

  // Bodies are read only by routes that take one, as raw bytes, parsed once here (SPEC §13.4).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const contentType = request.headers['content-type'];
    if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) {
      done(
        new GatewayError(
          'invalid_value',
          { param: 'Content-Type', reason: 'expected application/json' },
          { param: 'Content-Type' },
        ),
      );
      return;
    }
    if ((body as Buffer).length === 0) {
      done(null, undefined);
      return;
    }
    if (isNestedDeeperThan(body as Buffer, maxJsonDepth)) {
      done(
        new GatewayError(
          'invalid_value',
          { param: 'body', reason: `nested deeper than ${maxJsonDepth} levels` },
          { param: null },
        ),
      );
      return;
    }
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch {
      done(new GatewayError('invalid_json'));
    }
  });

  const finish = (request: FastifyRequest, status: number) => {
    const record = request.record;
    if (request.isFinished || !record) return;
    request.isFinished = true;
    const latencyMs = clock.monotonic() - request.startedAt;
    metrics.requests.inc({
      endpoint: record.endpoint,
      status: String(status),
      provider: record.provider ?? '',
      model: record.model ?? '',
    });
    metrics.requestDuration.observe({ endpoint: record.endpoint }, latencyMs / 1000);
    const level = status >= 500 ? 'error' : 'info';
    // At the default `warn` level the line is not written, so it is not built either.
    if (logger.isLevelEnabled(level)) {
      const line = {
        request_id: request.id,
        method: request.method,
        path: pathOf(request.url),
        status,
        latency_ms: Math.round(latencyMs),
        key_id: request.principal?.keyId,
        org_id: request.principal?.orgId,
        model: record.model,
        provider: record.provider,
        outcome: record.outcome,
        error_code: record.errorCode,
      };
      logger[level](line, 'request');
    }
    deps.onRequestFinished?.({
      requestId: request.id,
      principal: request.principal,
      record,
      status,
      latencyMs,
      receivedAtMs: request.receivedAtMs,
      userAgent: request.headers['user-agent'],
      clientIp: request.clientIp,
      rateLimitSubject: request.rateLimitSubject,
    });
  };

  app.addHook('onRequest', async (request, reply) => {
    request.receivedAtMs = clock.now();
    request.startedAt = clock.monotonic();
    reply.header('x-request-id', request.id);
    const path = pathOf(request.url);
    const isConsoleFile = isConsolePath(path) && (request.method === 'GET' || request.method === 'HEAD');
    if (publicPaths.has(path) || /^\/+admin(?:\/|$)/.test(path) || isConsoleFile) {
      request.isFinished = true;
      return;
    }
    request.record = newRequestRecord(endpointOf(request.method, path));
    request.clientIp = clientIpOf(
      { socketAddress: request.socket.remoteAddress, forwardedFor: request.headers['x-forwarded-for'] },
      config.server.trustProxy,
    );
    if (deps.isDraining()) throw new GatewayError('shutting_down');
    // SPEC §9.3: key lookup, then the rate limit (so floods of bad keys get 429), then the verdict.
    const lookup = await deps.auth.lookup(request.headers.authorization, request.headers);
    const subject = rateLimitSubjectOf(lookup, clock.now());
    request.rateLimitSubject = subject;
    // The internal key has no buckets: asking the limiter would only cost a promise.
    const decision =
      subject.kind === 'exempt' ? undefined : await deps.rateLimiter.check(subject, request.clientIp);
    if (decision) reply.headers(toRateLimitHeaders(decision));
    if (decision && !decision.allowed) throw toRateLimitError(decision);
    request.principal = deps.auth.verdict(lookup);
  });

  // A callback hook, not an async one: nothing here waits, so no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    if (!request.isFinished && request.record) finish(request, reply.statusCode);
    // While draining, a kept-alive connection is closed once its answer is out, so close() ends.
    if (deps.isDraining()) request.raw.socket?.end();
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const { error: gatewayError, isBug } = toGatewayError(error, config.server.maxBodyBytes);
    if (isBug) logger.error({ request_id: request.id, err: error }, 'unhandled error');
    const record = request.record;
    if (record) {
      record.outcome ??= 'error';
      record.errorType = gatewayError.type;
      record.errorCode = gatewayError.wireCode;
    }
    if (gatewayError.status === 401) reply.header('www-authenticate', 'Bearer');
    if (gatewayError.retryAfterSeconds !== undefined)
      reply.header('retry-after', String(gatewayError.retryAfterSeconds));
    reply.code(gatewayError.status).type('application/json').send(JSON.stringify(gatewayError.toEnvelope()));
  });

  app.setNotFoundHandler((request) => {
    throw new GatewayError('unknown_route', { method: request.method, path: pathOf(request.url) });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = deps.readiness();
    reply.code(readiness.status === 'ready' ? 200 : 503);
    return readiness;
  });
  const metricsTokenDigest = config.telemetry.metricsToken
    ? sha256(config.telemetry.metricsToken)
    : undefined;
  app.get('/metrics', async (request, reply) => {
    if (metricsTokenDigest !== undefined) {
      const token = bearerToken(request.headers.authorization);
      if (token === undefined || !isSameSecret(sha256(token), metricsTokenDigest)) {
        throw new GatewayError('invalid_api_key');
      }
    }
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  const openApi = JSON.stringify(buildOpenApiDocument());
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(openApi));

  const v1 = async (scope: FastifyInstance) => {
    scope.get('/models', async (request) => {
      const query = request.query as Record<string, string | undefined>;
      if (query.container === undefined || !deps.platform) return listModels(deps.catalog, query);
      const projectId = (request.principal as Principal).projectId;
      const container = await deps.platform.store.containers
        .get(projectId, query.container)
        .catch((error: unknown) => {
          throw new GatewayError('storage_unavailable', {}, { cause: error });
        });
      if (!container) {
        throw new GatewayError('container_not_found', { label: query.container }, { param: 'container' });
      }
      return listModels(deps.catalog, query, [container.model, ...container.models]);
    });
    scope.get('/models/*', async (request) => {
      const raw = (request.params as { '*': string })['*'];
      return retrieveModel(deps.catalog, decodeURIComponent(raw));
    });
    scope.post('/chat/completions', async (request, reply) => handleChat(request, reply));
    if (deps.responses) {
      registerResponsesRoutes(scope, {
        responses: deps.responses,
        keepAliveMs: config.stream.keepAliveMs,
        metrics,
        logger,
        finish,
        trackStream: (stop) => {
          activeStreams.add(stop);
          return () => activeStreams.delete(stop);
        },
      });
    }
    if (deps.platform) registerPlatformRoutes(scope, deps.platform);
  };
  app.register(v1, { prefix: '/v1' });
  app.register(v1, { prefix: '/api/v1' });
  if (deps.admin) app.register(registerAdminRoutes, { ...deps.admin, adminToken: config.auth.adminToken });
  app.register(registerConsoleRoutes, { rootDir: deps.consoleRootDir ?? defaultConsoleRootDir });

  async function handleChat(request: FastifyRequest, reply: FastifyReply) {
    const abort = new AbortSource();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort(new Error('client disconnected'));
    });
    const principal = request.principal as Principal;
    const record = request.record ?? newRequestRecord('chat.completions');
    request.record = record;
    const result = await deps.chatCompletions.handle(request.body, {
      requestId: request.id,
      principal,
      signal: abort,
      receivedAtMs: request.receivedAtMs,
      record,
      traceparent: typeof request.headers.traceparent === 'string' ? request.headers.traceparent : undefined,
    });
    if (result.kind === 'json') {
      reply.headers(result.headers).type('application/json').send(result.body);
      return reply;
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      ...result.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    metrics.streamsInFlight.inc();
    const drainDeadline = new AbortController();
    activeStreams.add(drainDeadline);
    try {
      const outcome = await pipeFrames(raw, result.frames, config.stream.keepAliveMs, drainDeadline.signal);
      if (outcome === 'stopped') {
        abort.abort(new Error('shutting down'));
        record.outcome = 'stream_error';
        record.errorType = 'api_error';
        record.errorCode = 'shutting_down';
        if (!raw.destroyed) raw.write(sseErrorThenDone(new GatewayError('shutting_down').toEnvelope()));
      }
    } catch (error) {
      logger.error({ request_id: request.id, err: error }, 'stream failed');
      if (!raw.destroyed) raw.write(sseErrorThenDone(new GatewayError('internal_error').toEnvelope()));
    } finally {
      activeStreams.delete(drainDeadline);
      metrics.streamsInFlight.dec();
      if (!raw.writableEnded) raw.end();
      if (record.ttftMs !== undefined && record.provider) {
        metrics.timeToFirstToken.observe(
          { provider: record.provider, model: record.model ?? '' },
          record.ttftMs / 1000,
        );
      }
      finish(request, 200);
      if (deps.isDraining()) raw.socket?.end();
    }
    return reply;
  }

  return {
    app,
    stopStreams() {
      for (const stream of activeStreams) stream.abort();
    },
    openStreams: () => activeStreams.size,
  };
}

function endpointOf(method: string, path: string): string {
  const rest = path.replace(/^\/api\/v1\//, '/v1/').replace(/^\/v1\//, '');
  if (rest === 'chat/completions' && method === 'POST') return 'chat.completions';
  if (rest === 'models') return 'models.list';
  if (rest.startsWith('models/')) return 'models.retrieve';
  return 'unknown';
}

/** Deeper bodies are refused: recursive JSON.stringify (size checks, upstream body, request log) would overflow. */
const maxJsonDepth = 128;

/**
 * Whether JSON text nests `[`/`{` deeper than `limit`. Text with at most `limit` brackets cannot, and
 * counting them takes `indexOf` (memchr) a few µs for a 100 KB prompt, where the byte scan costs
 * about 2 ns a byte. The scan runs before JSON.parse, which takes seconds on megabytes of nesting.
 */
function isNestedDeeperThan(bytes: Buffer, limit: number): boolean {
  return hasMoreBracketsThan(bytes, limit) && scansDeeperThan(bytes, limit);
}

function hasMoreBracketsThan(bytes: Buffer, limit: number): boolean {
  let count = 0;
  for (const bracket of [0x5b, 0x7b]) {
    for (let index = bytes.indexOf(bracket); index !== -1; index = bytes.indexOf(bracket, index + 1)) {
      if (++count > limit) return true;
    }
  }
  return false;
}

/** One byte scan, strings skipped, no allocation. */
function scansDeeperThan(bytes: Buffer, limit: number): boolean {
  let depth = 0;
  let isInString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (isInString) {
      if (byte === 0x5c) index++;
      else if (byte === 0x22) isInString = false;
    } else if (byte === 0x22) isInString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > limit) return true;
    } else if (byte === 0x5d || byte === 0x7d) depth--;
  }
  return false;
}

/**
 * HTTP the parser refuses (bad bytes, oversized headers) never reaches the router: answer it with the
 * envelope (SPEC §9.1) instead of Fastify's own body; a header timeout just closes the connection.
 */
function answerClientError(error: Error & { code?: string }, socket: import('node:stream').Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (error.code !== 'ERR_HTTP_REQUEST_TIMEOUT' && socket.writable) {
    const body = JSON.stringify(
      new GatewayError(
        'invalid_value',
        { param: 'request', reason: 'malformed HTTP request' },
        { param: null },
      ).toEnvelope(),
    );
    socket.write(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
