import type { JsonText } from './schema.js';

/**
 * Escapes PostgreSQL refuses in jsonb: `\u0000`, and UTF-16 surrogates without their pair (JSON.parse
 * accepts both from a client). An odd run of backslashes marks a real escape; a high surrogate
 * followed by its low one is kept.
 */
const unstorableEscape = /(\\+)u(0000|d[89ab][0-9a-f]{2}(?:\\ud[c-f][0-9a-f]{2})?|d[c-f][0-9a-f]{2})/gi;

function storableJson(text: string): string {
  // One scan for the common case: most texts hold no `\u` escape at all.
  if (!text.includes('\\u') || (!text.includes('\\u0000') && !/\\u[dD]/.test(text))) return text;
  return text.replace(unstorableEscape, (match, slashes: string, code: string) =>
    slashes.length % 2 === 0 || code.length === 10 ? match : `${slashes.slice(1)}\\ufffd`,
  );
}

/**
 * JSON columns are written as text and read back as text on both engines. Stringifying here (not in
 * the driver) matters on PostgreSQL: `pg` would turn a JS array into a PostgreSQL array literal.
 * Escapes jsonb cannot hold become U+FFFD on both engines, so one odd client body cannot fail a whole
 * telemetry batch (and its spool replay) on PostgreSQL.
 */
export function toJson(value: unknown): JsonText {
  return storableJson(JSON.stringify(value));
}

export function toJsonOrNull(value: unknown): JsonText | null {
  return value === undefined || value === null ? null : storableJson(JSON.stringify(value));
}

/** PostgreSQL text cannot hold NUL; client-supplied strings get U+FFFD instead, on both engines. */
export function toText(value: string): string;
export function toText(value: string | null | undefined): string | null;
export function toText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}

export function fromJson<T>(text: JsonText): T {
  return JSON.parse(text) as T;
}

export function fromJsonOrNull<T>(text: JsonText | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** Flag columns are integers on both engines (better-sqlite3 cannot bind booleans). */
export function toFlag(value: boolean): number {
  return value ? 1 : 0;
}

/** Integer columns reject fractions on PostgreSQL; latencies arrive as fractional milliseconds. */
export function toInteger(value: number): number;
export function toInteger(value: number | null | undefined): number | null;
export function toInteger(value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : Math.round(value);
}

/** Splits rows so that one multi-row statement stays under the engine's bound-parameter limit. */
export function chunkRows<T extends object>(rows: readonly T[], maxParameters: number): T[][] {
  const first = rows[0];
  if (first === undefined) return [];
  const perRow = Math.max(1, Object.keys(first).length);
  const size = Math.max(1, Math.floor(maxParameters / perRow));
  const chunks: T[][] = [];
  for (let index = 0; index < rows.length; index += size) chunks.push(rows.slice(index, index + size));
  return chunks;
}
