/**
 * Request shapes shared by the platform endpoints (SPEC §11): list paging, Unix-second time filters,
 * single-valued and repeatable query parameters, JSON body fields, and the one rule for store
 * failures (503 `storage_unavailable`). Query values arrive as the http layer parses them: a repeated
 * key is an array.
 */
import { GatewayError, invalidType, invalidValue, missingParameter } from '../errors/gateway-error.js';

export type QueryParameters = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Every platform list (SPEC §2): `{"object":"list","data":[…],"total":<int>}`. */
export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  total: number;
}

export interface PageRequest {
  limit: number;
  offset: number;
}

export const defaultListLimit = 20;
export const maxListLimit = 100;
/** Year 9999: larger values are typos, and would overflow millisecond arithmetic in SQL. */
const maxUnixSeconds = 253_402_300_799;

/** The one value of a parameter that must not repeat. */
export function singleParameter(query: QueryParameters, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || typeof value === 'string') return value;
  throw invalidValue(name, 'must be given at most once');
}

function integerParameter(query: QueryParameters, name: string, min: number, max: number, reason: string) {
  const value = singleParameter(query, name);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d{1,16}$/.test(value) || parsed < min || parsed > max) throw invalidValue(name, reason);
  return parsed;
}

/** `limit` 1–100 (default 20), `offset` ≥ 0 (default 0). */
export function pageOf(query: QueryParameters): PageRequest {
  return {
    limit:
      integerParameter(query, 'limit', 1, maxListLimit, `must be an integer from 1 to ${maxListLimit}`) ??
      defaultListLimit,
    offset:
      integerParameter(query, 'offset', 0, Number.MAX_SAFE_INTEGER, 'must be a non-negative integer') ?? 0,
  };
}

/**
 * `from` / `to` in Unix seconds, returned in milliseconds. Both bounds are inclusive and `to` covers
 * its whole second, so `from=to=T` selects everything that happened during second T.
 */
export function timeRangeOf(query: QueryParameters): { from?: number; to?: number } {
  const reason = 'must be a Unix time in seconds';
  const from = integerParameter(query, 'from', 0, maxUnixSeconds, reason);
  const to = integerParameter(query, 'to', 0, maxUnixSeconds, reason);
  if (from !== undefined && to !== undefined && from > to)
    throw invalidValue('to', "must not be before 'from'");
  return {
    ...(from === undefined ? {} : { from: from * 1000 }),
    ...(to === undefined ? {} : { to: to * 1000 + 999 }),
  };
}

/** A non-empty single-valued text parameter. */
export function textParameter(query: QueryParameters, name: string): string | undefined {
  const value = singleParameter(query, name);
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 1024) throw invalidValue(name, 'must be 1 to 1024 characters');
  return value;
}

/** A repeatable parameter (`?tag=a&tag=b`), every value non-empty. */
export function repeatedParameter(query: QueryParameters, name: string): string[] | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const values = typeof value === 'string' ? [value] : [...value];
  if (values.some((item) => item.length === 0 || item.length > 1024)) {
    throw invalidValue(name, 'must be 1 to 1024 characters');
  }
  return values;
}

export function enumParameter<T extends string>(
  query: QueryParameters,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const value = singleParameter(query, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidValue(name, `must be one of ${allowed.map((item) => `'${item}'`).join(', ')}`);
  }
  return value as T;
}

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parsed JSON body as an object; an empty body counts as `{}` so required fields are named. */
export function bodyObject(body: unknown): JsonObject {
  if (body === undefined) return {};
  if (!isJsonObject(body)) {
    throw new GatewayError('invalid_type', { param: 'body', expected: 'an object' }, { param: null });
  }
  return body;
}

export function requiredString(body: JsonObject, name: string): string {
  const value = body[name];
  if (value === undefined || value === null) throw missingParameter(name);
  if (typeof value !== 'string') throw invalidType(name, 'a string');
  return value;
}

export function optionalString(body: JsonObject, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidType(name, 'a string');
  return value;
}

/** A string or `null` (clears the field); `undefined` when absent. */
export function nullableString(body: JsonObject, name: string): string | null | undefined {
  const value = body[name];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw invalidType(name, 'a string or null');
  return value;
}

export function stringArray(body: JsonObject, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalidType(name, 'an array');
  value.forEach((item, index) => {
    if (typeof item !== 'string') throw invalidType(`${name}[${index}]`, 'a string');
  });
  return value as string[];
}

/** Unix milliseconds → Unix seconds, the platform objects' timestamps. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Unix milliseconds → RFC 3339 date-time in UTC, as traces render times. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Runs one store operation. A deliberate `GatewayError` passes through; any other failure means the
 * store could not answer and becomes 503 `storage_unavailable`, with the cause kept for the log.
 */
export async function fromStore<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('storage_unavailable', {}, { cause: error });
  }
}
