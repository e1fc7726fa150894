import type { GatewayError } from '../../errors/gateway-error.js';
import type { UpstreamFailure } from '../provider.js';
import { errorFromUpstreamStatus, parseJsonErrorBody, retryAfterFrom } from '../upstream-status.js';

/**
 * The HTTP status each Anthropic error `type` stands for, so an error sent inside a 200 stream maps
 * like the same error sent as a status.
 * @see https://platform.claude.com/docs/en/api/errors
 */
const statusByErrorType: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Maps an Anthropic error body `{type:'error', error:{type, message}}` sent with a non-2xx status. */
export function parseAnthropicError(failure: UpstreamFailure): GatewayError {
  const body = parseJsonErrorBody(failure.body);
  return errorFromUpstreamStatus({
    status: failure.status,
    providerName: failure.providerName,
    message: body.message,
    retryAfterSeconds: retryAfterFrom(failure.headers),
    isOverloaded: body.type === 'overloaded_error',
  });
}

/** Maps the `error` event of a Messages stream (e.g. `overloaded_error` mid-stream). */
export function parseAnthropicStreamError(
  error: { type?: unknown; message?: unknown } | undefined,
  providerName: string,
): GatewayError {
  const type = typeof error?.type === 'string' ? error.type : 'api_error';
  return errorFromUpstreamStatus({
    status: statusByErrorType[type] ?? 500,
    providerName,
    message: typeof error?.message === 'string' ? error.message : '',
    isOverloaded: type === 'overloaded_error',
  });
}
