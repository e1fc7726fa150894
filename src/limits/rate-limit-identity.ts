import type { Config } from '../config/config.js';
import type { RateLimitBucket } from './rate-limit-backend.js';

/**
 * Whom a request is counted against (SPEC §7), known right after the key lookup and before the auth
 * verdict (§9.3). The same shape as auth's `RateLimitSubject`, so a subject passes as is; limits are
 * `null` where the configured default (requests) or no limit (tokens) applies.
 */
export type RateLimitIdentity =
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
  /** A usable key without an organization (answered 403): its own bucket at `rateLimit.orgLimit`. */
  | { kind: 'key'; keyId: string }
  /** No key, an invalid one, or the key store down: the client IP bucket. */
  | { kind: 'anonymous' };

/** The buckets one request is checked against: request counts always, token counts when configured. */
export interface RateLimitPlan {
  requests: RateLimitBucket[];
  tokens: RateLimitBucket[];
}

export type RateLimitDefaults = Pick<Config['rateLimit'], 'orgLimit' | 'anonymousLimit'>;

/** SPEC §7's table. `clientIp` is used only for `anonymous`. */
export function rateLimitPlanFor(
  identity: RateLimitIdentity,
  clientIp: string,
  defaults: RateLimitDefaults,
): RateLimitPlan {
  switch (identity.kind) {
    case 'exempt':
      return { requests: [], tokens: [] };
    case 'anonymous':
      return { requests: [{ key: `ip:${clientIp}`, limit: defaults.anonymousLimit }], tokens: [] };
    case 'key':
      return { requests: [{ key: `key:${identity.keyId}`, limit: defaults.orgLimit }], tokens: [] };
    case 'organization': {
      const orgBucket = `org:${identity.orgId}`;
      const keyBucket = `key:${identity.keyId}`;
      const requests: RateLimitBucket[] = [
        { key: orgBucket, limit: identity.orgRateLimit ?? defaults.orgLimit },
      ];
      if (identity.keyRateLimit !== null) requests.push({ key: keyBucket, limit: identity.keyRateLimit });
      const tokens: RateLimitBucket[] = [];
      if (identity.orgTokenRateLimit !== null)
        tokens.push({ key: orgBucket, limit: identity.orgTokenRateLimit });
      if (identity.keyTokenRateLimit !== null)
        tokens.push({ key: keyBucket, limit: identity.keyTokenRateLimit });
      return { requests, tokens };
    }
  }
}
