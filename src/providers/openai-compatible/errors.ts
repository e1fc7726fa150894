import type { GatewayError } from '../../errors/gateway-error.js';
import type { UpstreamFailure } from '../provider.js';
import { errorFromUpstreamStatus, parseJsonErrorBody, retryAfterFrom } from '../upstream-status.js';
import type { OpenAiCompatibleChunk } from './wire.js';

/** @see https://platform.openai.com/docs/guides/error-codes */
export function parseOpenAiCompatibleError(failure: UpstreamFailure): GatewayError {
  const body = parseJsonErrorBody(failure.body);
  return errorFromUpstreamStatus({
    status: failure.status,
    providerName: failure.providerName,
    message: body.message,
    param: body.param,
    retryAfterSeconds: retryAfterFrom(failure.headers),
    isOverloaded: body.type === 'overloaded_error' || body.code === 'overloaded',
  });
}

/**
 * An error sent inside a 200 stream (`data: {"error":{…}}`). OpenRouter puts the HTTP status in a
 * numeric `code`; others give only a type.
 * @see https://openrouter.ai/docs/api-reference/errors
 */
export function parseOpenAiCompatibleStreamError(
  error: NonNullable<OpenAiCompatibleChunk['error']>,
  providerName: string,
) {
  const status =
    typeof error.code === 'number'
      ? error.code
      : error.type === 'rate_limit_error' || error.code === 'rate_limit_exceeded'
        ? 429
        : error.type === 'invalid_request_error'
          ? 400
          : 500;
  return errorFromUpstreamStatus({
    status,
    providerName,
    message: typeof error.message === 'string' ? error.message : '',
    param: error.param ?? null,
    isOverloaded: error.type === 'overloaded_error' || error.code === 'overloaded',
  });
}
