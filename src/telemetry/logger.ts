import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Paths never written, wherever they appear in a log object (SPEC §13.4: logs never contain keys). */
export const redactedPaths = [
  'authorization',
  'headers.authorization',
  'request.headers.authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'key',
  'internalKey',
  'adminToken',
  'token',
  'x-api-key',
  '*.x-api-key',
];

/**
 * JSON logger writing through an asynchronous destination so that a log line never waits on the disk.
 * Tests pass their own destination to capture and grep the output.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}
