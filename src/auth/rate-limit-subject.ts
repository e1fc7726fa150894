import type { KeyLookupResult } from './key-lookup-result.js';
import { isKeyUsable } from './key-status.js';

/**
 * Whom the rate limiter counts a request against (SPEC §7), decided from the lookup alone because the
 * check precedes the verdict. Limits are `null` where the configured default applies.
 */
export type RateLimitSubject =
  /** The internal key: no buckets, no `x-ratelimit-*` headers. */
  | { kind: 'exempt' }
  /** A usable key with an organization: the org bucket, plus a key bucket when `keyRateLimit` is set. */
  | {
      kind: 'organization';
      orgId: string;
      orgRateLimit: number | null;
      orgTokenRateLimit: number | null;
      keyId: string;
      keyRateLimit: number | null;
      keyTokenRateLimit: number | null;
    }
  /** A usable key without an organization (it will get 403): its own bucket at `rateLimit.orgLimit`. */
  | { kind: 'key'; keyId: string }
  /** No key, an invalid one, or the key store down: the client IP bucket. */
  | { kind: 'anonymous' };

const exempt: RateLimitSubject = Object.freeze({ kind: 'exempt' });
const anonymous: RateLimitSubject = Object.freeze({ kind: 'anonymous' });

export function rateLimitSubjectOf(result: KeyLookupResult, nowMs: number): RateLimitSubject {
  switch (result.kind) {
    case 'internal':
      return exempt;
    case 'missing':
    case 'unknown':
    case 'store_unavailable':
      return anonymous;
    case 'found': {
      const { record, principal } = result;
      if (!isKeyUsable(record, nowMs)) return anonymous;
      if (principal === undefined) return { kind: 'key', keyId: record.id };
      return {
        kind: 'organization',
        orgId: principal.orgId,
        orgRateLimit: principal.orgRateLimit,
        orgTokenRateLimit: principal.orgTokenRateLimit,
        keyId: principal.keyId,
        keyRateLimit: principal.keyRateLimit,
        keyTokenRateLimit: principal.keyTokenRateLimit,
      };
    }
  }
}
