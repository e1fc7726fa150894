import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { ApiKeyRepository } from '../store/repositories.js';
import {
  InternalAttribution,
  type InternalAttributionResolver,
  type RequestHeaders,
} from './internal-attribution.js';
import { bearerToken, isSameSecret, sha256 } from './internal-key.js';
import { KeyCache } from './key-cache.js';
import type {
  FoundKeyResult,
  KeyLookupResult,
  MissingKeyResult,
  UnknownKeyResult,
} from './key-lookup-result.js';
import { keyRejectionOf } from './key-status.js';
import type { Principal } from './principal.js';
import type { RevocationBus } from './revocation-bus.js';

export interface KeyAuthenticatorOptions {
  /** The only store call authentication makes. */
  apiKeys: Pick<ApiKeyRepository, 'findByHash'>;
  clock: Clock;
  auth: Pick<
    Config['auth'],
    'internalKey' | 'cacheTtlSeconds' | 'negativeCacheTtlSeconds' | 'staleIfErrorSeconds'
  >;
  /** Attributes the internal key to the org/project named by `x-maniac-org` / `x-maniac-project`. */
  resolveInternalAttribution: InternalAttributionResolver;
  /** Revocations from other instances; without one, they converge within `cacheTtlSeconds`. */
  revocations?: RevocationBus;
  /** Bound on cached keys (default 100 000); unknown keys get a tenth of it. */
  maxCachedKeys?: number;
  /** After a failed store call, how long a stale key is served before asking again (default 1 000). */
  storeRetryMs?: number;
  /** Every failed store call (for the auth-store error metric and logs). */
  onStoreError?(error: unknown): void;
  /** A revocation could not be broadcast; it still converges within the cache TTL. */
  onBusError?(error: unknown): void;
}

type StoreAnswer = FoundKeyResult | UnknownKeyResult | undefined;

const missing: MissingKeyResult = Object.freeze({ kind: 'missing' });

/**
 * API key authentication in the two phases of the pipeline (SPEC §9.3): `lookup` (step 3) resolves the
 * bearer key without throwing, so the rate limiter (step 4) can choose buckets from it; `verdict`
 * (step 5) turns it into a Principal or the §6 error. Fail-closed: a key the store cannot confirm
 * and the cache cannot vouch for is a 503, never a pass.
 */
export class KeyAuthenticator {
  private readonly cache: KeyCache;
  private readonly inflight = new Map<string, Promise<StoreAnswer>>();
  private readonly internalDigest: Buffer | undefined;
  private readonly attribution: InternalAttribution;
  private readonly usedKeyIds = new Set<string>();
  private readonly maxCachedKeys: number;
  private readonly unsubscribe: () => void;
  private readonly onStoreError: (error: unknown) => void;

  constructor(private readonly options: KeyAuthenticatorOptions) {
    const { auth } = options;
    this.maxCachedKeys = options.maxCachedKeys ?? 100_000;
    this.onStoreError = options.onStoreError ?? (() => {});
    this.cache = new KeyCache({
      ttlMs: auth.cacheTtlSeconds * 1000,
      negativeTtlMs: auth.negativeCacheTtlSeconds * 1000,
      staleIfErrorMs: auth.staleIfErrorSeconds * 1000,
      storeRetryMs: options.storeRetryMs ?? 1000,
      maxEntries: this.maxCachedKeys,
      maxNegativeEntries: Math.max(1, Math.floor(this.maxCachedKeys / 10)),
    });
    this.internalDigest = auth.internalKey ? sha256(auth.internalKey) : undefined;
    this.attribution = new InternalAttribution({
      resolve: options.resolveInternalAttribution,
      clock: options.clock,
      ttlMs: auth.cacheTtlSeconds * 1000,
      staleIfErrorMs: auth.staleIfErrorSeconds * 1000,
      maxEntries: 10_000,
      onStoreError: this.onStoreError,
    });
    this.unsubscribe = options.revocations?.subscribe((id) => this.invalidate(id)) ?? (() => {});
  }

  /** Step 3: who the bearer claims to be. Never throws. */
  async lookup(authorization: string | undefined, headers: RequestHeaders = {}): Promise<KeyLookupResult> {
    const token = bearerToken(authorization);
    if (token === undefined) return missing;
    const digest = sha256(token);
    if (this.internalDigest !== undefined && isSameSecret(digest, this.internalDigest)) {
      return this.attribution.attribute(headers);
    }
    return this.lookupHash(digest.toString('hex'));
  }

  /**
   * Step 5: the §6 verdict. `nowMs` is wall-clock Unix milliseconds; `expires_at` is checked against it
   * on every request, whatever the cache holds.
   */
  verdict(result: KeyLookupResult, nowMs: number = this.options.clock.now()): Principal {
    switch (result.kind) {
      case 'missing':
        throw new GatewayError('missing_api_key');
      case 'unknown':
        throw new GatewayError('invalid_api_key');
      case 'store_unavailable':
        throw new GatewayError('auth_unavailable');
      case 'internal':
        if (result.rejection !== undefined) throw result.rejection;
        return result.principal;
      case 'found': {
        const rejection = keyRejectionOf(result.record, nowMs);
        if (rejection !== undefined || result.principal === undefined) {
          throw new GatewayError(rejection ?? 'no_organization');
        }
        if (this.usedKeyIds.size < this.maxCachedKeys) this.usedKeyIds.add(result.principal.keyId);
        return result.principal;
      }
    }
  }

  /** Both phases at once, for callers with no rate limiter in between. */
  async authenticate(authorization: string | undefined, headers: RequestHeaders = {}): Promise<Principal> {
    return this.verdict(await this.lookup(authorization, headers));
  }

  /** Drops a key hash, key id or organization id from this instance's cache at once. */
  invalidate(id: string): void {
    this.cache.invalidate(id);
    // A store call already under way may have read the row before the change.
    this.inflight.clear();
  }

  /**
   * For the instance that disabled or revoked something: effective here at once, and on every other
   * instance as soon as the bus delivers. Never throws; a failed broadcast goes to `onBusError`.
   */
  async propagateRevocation(id: string): Promise<void> {
    this.invalidate(id);
    try {
      await this.options.revocations?.publish(id);
    } catch (error) {
      this.options.onBusError?.(error);
    }
  }

  /** Key ids that passed the verdict since the last call, for a periodic `last_used_at` update. */
  drainUsedKeys(): string[] {
    const keyIds = [...this.usedKeyIds];
    this.usedKeyIds.clear();
    return keyIds;
  }

  /** Stops listening for revocations (the bus itself belongs to the caller). */
  close(): void {
    this.unsubscribe();
  }

  private async lookupHash(hash: string): Promise<KeyLookupResult> {
    const cached = this.cache.fresh(hash, this.options.clock.monotonic());
    if (cached !== undefined) return cached;
    const answer = await this.fetch(hash);
    if (answer !== undefined) return answer;
    return this.cache.stale(hash, this.options.clock.monotonic()) ?? { kind: 'store_unavailable', hash };
  }

  /** One store call per hash at a time; concurrent lookups share it. `undefined` when it failed. */
  private fetch(hash: string): Promise<StoreAnswer> {
    const running = this.inflight.get(hash);
    if (running !== undefined) return running;
    const promise = this.load(hash, this.cache.generation).finally(() => {
      if (this.inflight.get(hash) === promise) this.inflight.delete(hash);
    });
    this.inflight.set(hash, promise);
    return promise;
  }

  private async load(hash: string, generation: number): Promise<StoreAnswer> {
    let record: Awaited<ReturnType<ApiKeyRepository['findByHash']>>;
    try {
      record = await this.options.apiKeys.findByHash(hash);
    } catch (error) {
      this.onStoreError(error);
      return undefined;
    }
    const nowMs = this.options.clock.monotonic();
    return record === undefined
      ? this.cache.putUnknown(hash, nowMs, generation)
      : this.cache.putFound(hash, record, nowMs, generation);
  }
}
