import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Keys whose values are never written, at the top of a log object or up to three objects deep (SPEC
 * §13.4: logs never contain keys). pino's path-based `redact` cost about 14 µs per request line in
 * the benchmark (docs/performance.md); this walk costs well under one.
 */
export const redactedKeys: ReadonlySet<string> = new Set([
  'authorization',
  'apiKey',
  'key',
  'internalKey',
  'adminToken',
  'token',
  'x-api-key',
]);

const censor = '[redacted]';
const maxDepth = 3;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The object with every secret key censored; the caller's object is never changed. */
export function redactSecrets(value: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const field = value[key];
    let next = field;
    if (redactedKeys.has(key)) next = censor;
    else if (depth < maxDepth && isPlainObject(field)) next = redactSecrets(field, depth + 1);
    if (next !== field) {
      copy ??= { ...value };
      copy[key] = next;
    }
  }
  return copy ?? value;
}

/**
 * JSON logger writing through an asynchronous destination so that a log line never waits on the disk.
 * Tests pass their own destination to capture and grep the output.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      formatters: { level: (label) => ({ level: label }), log: redactSecrets },
    },
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}
