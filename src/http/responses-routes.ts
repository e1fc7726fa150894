import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResponsesContext, ResponsesResult, ResponsesService } from '../api/responses.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { newRequestRecord } from '../telemetry/request-event.js';
import { pipeFrames } from './stream-reply.js';

export interface ResponsesRouteDeps {
  responses: ResponsesService;
  keepAliveMs: number;
  metrics: Pick<Metrics, 'streamsInFlight' | 'timeToFirstToken'>;
  logger: Pick<Logger, 'error'>;
  /** server.ts's `finish`: the one request event of a hijacked stream, once it is over. */
  finish(request: FastifyRequest, status: number): void;
  /**
   * Registers an open stream with the server's drain deadline (`stopStreams()` aborts `stop`);
   * returns its release. The stream itself then ends in-band with `shutting_down`.
   */
  trackStream(stop: AbortController): () => void;
}

type Run = (context: ResponsesContext, request: FastifyRequest) => Promise<ResponsesResult>;

/**
 * The Responses API of SPEC §12 (POST /responses, GET and DELETE /responses/:id, POST
 * /responses/:id/cancel), registered on a scope already prefixed with `/v1` or `/api/v1`. Streams are
 * served like chat streams (hijacked, piped frame by frame with keep-alives), with `event:` framing.
 */
export function registerResponsesRoutes(scope: FastifyInstance, deps: ResponsesRouteDeps): void {
  const endpoint =
    (name: string, run: Run) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const principal = request.principal;
      // The onRequest hook either sets the principal or answers with 401/403/503 before routing.
      if (!principal) throw new GatewayError('internal_error');
      const record = request.record ?? newRequestRecord(name);
      record.endpoint = name;
      request.record = record;
      const abort = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) abort.abort(new Error('client disconnected'));
      });
      const drain = new AbortController();
      const traceparent = request.headers.traceparent;
      const result = await run(
        {
          requestId: request.id,
          principal,
          signal: abort.signal,
          receivedAtMs: request.receivedAtMs,
          record,
          ...(typeof traceparent === 'string' ? { traceparent } : {}),
          userAgent: request.headers['user-agent'],
          clientIp: request.clientIp,
          rateLimitSubject: request.rateLimitSubject,
          drain: drain.signal,
        },
        request,
      );
      if (result.kind === 'json') {
        reply.headers(result.headers).type('application/json').send(result.body);
        return reply;
      }
      const untrack = deps.trackStream(drain);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        ...result.headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      });
      deps.metrics.streamsInFlight.inc();
      try {
        await pipeFrames(raw, result.frames, deps.keepAliveMs);
      } catch (error) {
        // A bug: the stream cannot be continued with valid sequence numbers, so it just ends.
        deps.logger.error({ request_id: request.id, err: error }, 'stream failed');
      } finally {
        untrack();
        deps.metrics.streamsInFlight.dec();
        if (!raw.writableEnded) raw.end();
        if (record.ttftMs !== undefined && record.provider) {
          deps.metrics.timeToFirstToken.observe(
            { provider: record.provider, model: record.model ?? '' },
            record.ttftMs / 1000,
          );
        }
        deps.finish(request, 200);
      }
      return reply;
    };

  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;
  scope.post(
    '/responses',
    endpoint('responses', (context, request) => deps.responses.create(request.body, context)),
  );
  scope.get(
    '/responses/:id',
    endpoint('responses.retrieve', (context, request) =>
      deps.responses.retrieve(idOf(request), request.query as Record<string, string | undefined>, context),
    ),
  );
  scope.delete(
    '/responses/:id',
    endpoint('responses.delete', (context, request) => deps.responses.delete(idOf(request), context)),
  );
  scope.post(
    '/responses/:id/cancel',
    endpoint('responses.cancel', (context, request) => deps.responses.cancel(idOf(request), context)),
  );
}
