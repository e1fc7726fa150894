import type { GatewayError } from '../errors/gateway-error.js';
import type { AuthKeyRecord } from './key-status.js';
import type { Principal } from './principal.js';

/** No `Authorization: Bearer` header. */
export interface MissingKeyResult {
  readonly kind: 'missing';
}

/** The internal service key; `rejection` is set when its attribution headers name nothing known. */
export interface InternalKeyResult {
  readonly kind: 'internal';
  readonly principal: Readonly<Principal>;
  readonly rejection: GatewayError | undefined;
}

/** A stored key, whatever its state: the verdict decides whether it may be used. */
export interface FoundKeyResult {
  readonly kind: 'found';
  readonly hash: string;
  readonly record: AuthKeyRecord;
  /** Precomputed once per cache fill; `undefined` when the key has no organization. */
  readonly principal: Readonly<Principal> | undefined;
  /** Served from cache past its TTL because the store failed (stale-if-error). */
  readonly isStale: boolean;
}

/** The store answered and has no such key (cached for `negativeCacheTtlSeconds`). */
export interface UnknownKeyResult {
  readonly kind: 'unknown';
  readonly hash: string;
}

/** The store failed and nothing usable was cached: the verdict fails closed. */
export interface StoreUnavailableResult {
  readonly kind: 'store_unavailable';
  readonly hash: string;
}

/**
 * Phase one of authentication (SPEC §9.3 step 3). It never throws, so the rate limiter can pick its
 * buckets from it before the verdict (step 5) turns it into a Principal or an error.
 */
export type KeyLookupResult =
  | MissingKeyResult
  | InternalKeyResult
  | FoundKeyResult
  | UnknownKeyResult
  | StoreUnavailableResult;
