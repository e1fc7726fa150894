import type { LogEvent } from 'kysely';

/** Called after every statement; for metrics, debugging and tests that count round trips. */
export type QueryListener = (event: { sql: string; durationMs: number; isError: boolean }) => void;

/** Kysely's `log` option for a listener, or nothing at all when there is none. */
export function kyselyLogOf(listener: QueryListener | undefined): { log?: (event: LogEvent) => void } {
  if (listener === undefined) return {};
  return {
    log: (event) =>
      listener({
        sql: event.query.sql,
        durationMs: event.queryDurationMillis,
        isError: event.level === 'error',
      }),
  };
}
