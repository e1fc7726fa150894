import { type CatalogEntry, catalog, type ErrorCode, wireCodeOf } from './catalog.js';

export interface ErrorEnvelope {
  error: { message: string; type: CatalogEntry['type']; param: string | null; code: string | null };
}

export interface GatewayErrorOptions {
  param?: string | null;
  /** Upstream failures that may be retried on the next fallback candidate (SPEC §5.4). */
  shouldFallBack?: boolean;
  /** Seconds, forwarded as `Retry-After`. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

const placeholder = /\{(\w+)\}/g;

/** A deliberate, client-visible failure with a catalog code. Anything else reaching http/ is a bug. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: CatalogEntry['status'];
  readonly type: CatalogEntry['type'];
  readonly param: string | null;
  readonly shouldFallBack: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    values: Record<string, string | number> = {},
    options: GatewayErrorOptions = {},
  ) {
    const entry: CatalogEntry = catalog[code];
    super(
      entry.message.replace(placeholder, (whole, name: string) =>
        values[name] === undefined ? whole : String(values[name]),
      ),
      { cause: options.cause },
    );
    this.name = 'GatewayError';
    this.code = code;
    this.status = entry.status;
    this.type = entry.type;
    this.param = options.param ?? null;
    this.shouldFallBack = options.shouldFallBack ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The same error, marked as one the next fallback candidate may answer instead. */
  asFallback(): GatewayError {
    // Error's own `message` and `stack` are not enumerable, so copy descriptors, not values.
    const copy = Object.create(
      GatewayError.prototype,
      Object.getOwnPropertyDescriptors(this),
    ) as GatewayError;
    Object.defineProperty(copy, 'shouldFallBack', { value: true });
    return copy;
  }

  get wireCode(): string {
    return wireCodeOf[this.code] ?? this.code;
  }

  toEnvelope(): ErrorEnvelope {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.wireCode } };
  }
}

export function invalidValue(param: string, reason: string): GatewayError {
  return new GatewayError('invalid_value', { param, reason }, { param });
}

export function invalidType(param: string, expected: string): GatewayError {
  return new GatewayError('invalid_type', { param, expected }, { param });
}

export function missingParameter(param: string): GatewayError {
  return new GatewayError('missing_required_parameter', { param }, { param });
}

export function unsupportedParameter(param: string, reason?: string): GatewayError {
  return new GatewayError(
    'unsupported_parameter',
    { reason: reason ?? `Unsupported parameter: '${param}' is not supported with this model.` },
    { param },
  );
}
