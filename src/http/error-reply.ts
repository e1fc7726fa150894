import type { FastifyError } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * Maps anything thrown while serving a request to a catalog error. Fastify's own failures (body too
 * large, bad media type, empty body) become their catalog codes; anything unknown is a bug and a
 * bare 500 `internal_error`, with the details left to the log.
 */
export function toGatewayError(
  error: unknown,
  maxBodyBytes: number,
): { error: GatewayError; isBug: boolean } {
  if (error instanceof GatewayError) return { error, isBug: false };
  const code = (error as FastifyError | null)?.code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new GatewayError('request_too_large', { limit: maxBodyBytes }), isBug: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: new GatewayError('invalid_json'), isBug: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        error: new GatewayError(
          'invalid_value',
          { param: 'Content-Type', reason: 'expected application/json' },
          { param: 'Content-Type' },
        ),
        isBug: false,
      };
    default:
      return { error: new GatewayError('internal_error'), isBug: true };
  }
}
