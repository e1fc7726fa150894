import { GatewayError } from '../errors/gateway-error.js';

export interface UpstreamErrorDetails {
  status: number;
  providerName: string;
  message: string;
  param?: string | null;
  retryAfterSeconds?: number;
  isOverloaded?: boolean;
}

/**
 * Maps an upstream HTTP status to the catalog (SPEC §9.2) and the fallback rule (SPEC §5.4). Every
 * provider's errors.ts extracts message/param/overload from its own body, then calls this.
 */
export function errorFromUpstreamStatus(details: UpstreamErrorDetails): GatewayError {
  const provider = details.providerName;
  const { status } = details;
  if (details.isOverloaded || status === 503 || status === 529) {
    return new GatewayError('upstream_overloaded', { provider }, { shouldFallBack: true });
  }
  if (status === 400 || status === 413 || status === 422) {
    return new GatewayError(
      'upstream_bad_request',
      { provider, upstreamMessage: details.message || `HTTP ${status}` },
      { param: details.param ?? null },
    );
  }
  if (status === 401 || status === 403)
    return new GatewayError('upstream_auth_failed', { provider }, { shouldFallBack: true });
  if (status === 408)
    return new GatewayError(
      'upstream_timeout',
      { provider, timeoutMs: 'the allotted' },
      { shouldFallBack: true },
    );
  if (status === 429) {
    return new GatewayError(
      'upstream_rate_limited',
      { provider },
      { shouldFallBack: true, retryAfterSeconds: details.retryAfterSeconds },
    );
  }
  return new GatewayError(
    'upstream_error',
    { provider, upstreamMessage: details.message || `HTTP ${status}` },
    { shouldFallBack: status === 404 || status >= 500 },
  );
}

export function retryAfterFrom(headers: Record<string, string | string[] | undefined>): number | undefined {
  const raw = headers['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  // An HTTP-date form would need a clock; providers have none, so only delta-seconds is forwarded.
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}

/** Reads a JSON error body leniently; anything unparsable yields the raw text (bounded) as message. */
export function parseJsonErrorBody(body: string): {
  message: string;
  type?: string;
  code?: string;
  param?: string | null;
} {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    const error = (
      typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : parsed
    ) as Record<string, unknown>;
    return {
      message:
        typeof error.message === 'string'
          ? error.message
          : typeof parsed.error === 'string'
            ? parsed.error
            : '',
      type: typeof error.type === 'string' ? error.type : undefined,
      code: typeof error.code === 'string' ? error.code : undefined,
      param: typeof error.param === 'string' ? error.param : null,
    };
  } catch {
    return { message: body.slice(0, 200) };
  }
}
