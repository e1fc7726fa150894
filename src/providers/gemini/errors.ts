import type { GatewayError } from '../../errors/gateway-error.js';
import type { UpstreamFailure } from '../provider.js';
import { errorFromUpstreamStatus, retryAfterFrom } from '../upstream-status.js';
import type { GeminiError } from './wire.js';

/** HTTP statuses of the `google.rpc.Code` names, for errors that arrive inside a stream. */
const statusByCode: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNKNOWN: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** Reads `{error:{…}}`, also in the one-element array some Google endpoints wrap it in. */
function readGeminiError(body: string): GeminiError | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    const envelope = (Array.isArray(parsed) ? parsed[0] : parsed) as { error?: unknown } | null;
    const error = envelope?.error;
    return typeof error === 'object' && error !== null ? (error as GeminiError) : undefined;
  } catch {
    return undefined;
  }
}

function detailsOf(error: GeminiError | undefined): NonNullable<GeminiError['details']> {
  return Array.isArray(error?.details) ? error.details : [];
}

/** `RetryInfo.retryDelay` is a protobuf Duration such as `"34.4s"`. */
function retryDelaySeconds(error: GeminiError | undefined): number | undefined {
  const delay = detailsOf(error).find((detail) => typeof detail?.retryDelay === 'string')?.retryDelay;
  const seconds = delay?.endsWith('s') ? Number(delay.slice(0, -1)) : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}

/**
 * Gemini answers a bad API key with 400 INVALID_ARGUMENT; its `ErrorInfo.reason` says what it is. It
 * is the gateway's credential that failed, so it is an auth failure (502, may fall back), not a 400.
 */
function isCredentialError(error: GeminiError | undefined): boolean {
  return detailsOf(error).some(
    (detail) => detail?.reason === 'API_KEY_INVALID' || detail?.reason === 'API_KEY_EXPIRED',
  );
}

function toGatewayError(
  status: number,
  error: GeminiError | undefined,
  providerName: string,
  fallbackMessage: string,
  retryAfterSeconds?: number,
): GatewayError {
  return errorFromUpstreamStatus({
    status: isCredentialError(error) ? 401 : status,
    providerName,
    message: typeof error?.message === 'string' ? error.message : fallbackMessage,
    param: null,
    retryAfterSeconds: retryAfterSeconds ?? retryDelaySeconds(error),
    isOverloaded: error?.status === 'UNAVAILABLE',
  });
}

/**
 * An HTTP error answer: `{"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED"}}`. The HTTP
 * status decides the catalog code (SPEC §9.2); the structured fields refine it, never the message.
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 */
export function parseGeminiError(failure: UpstreamFailure): GatewayError {
  const error = readGeminiError(failure.body);
  return toGatewayError(
    failure.status,
    error,
    failure.providerName,
    error ? '' : failure.body.slice(0, 200),
    retryAfterFrom(failure.headers),
  );
}

/** An error sent as an event of a 200 stream (`data: {"error":{…}}`). */
export function parseGeminiStreamError(error: GeminiError, providerName: string): GatewayError {
  const status =
    typeof error.code === 'number' && error.code >= 400
      ? error.code
      : (statusByCode[error.status ?? ''] ?? 500);
  return toGatewayError(status, error, providerName, '');
}
