import type { FoundKeyResult, UnknownKeyResult } from './key-lookup-result.js';
import { type AuthKeyRecord, principalOf } from './key-status.js';

export interface KeyCacheOptions {
  ttlMs: number;
  negativeTtlMs: number;
  staleIfErrorMs: number;
  /** After a failed refresh, how long the stale answer is served without asking the store again. */
  storeRetryMs: number;
  /** Bound on cached keys; the least recently fetched go first. */
  maxEntries: number;
  /** Separate, smaller bound for unknown keys, so a flood of random keys cannot evict valid ones. */
  maxNegativeEntries: number;
}

interface PositiveEntry {
  found: FoundKeyResult;
  freshUntilMs: number;
  staleUntilMs: number;
  /** Set by a failed refresh: until then the stale answer is served and the store left alone. */
  retryAtMs: number;
  staleFound: FoundKeyResult | undefined;
}

interface NegativeEntry {
  unknown: UnknownKeyResult;
  untilMs: number;
}

const sha256Hex = /^[0-9a-f]{64}$/;

/**
 * Per-process cache of key lookups by hash. Times are monotonic milliseconds, so a wall-clock step
 * cannot keep a revoked key alive. Insertion order doubles as recency: a key in use is re-fetched every
 * TTL and re-inserted at the end, so evicting from the front drops the least recently fetched without
 * any bookkeeping per hit.
 */
export class KeyCache {
  private readonly positive = new Map<string, PositiveEntry>();
  private readonly negative = new Map<string, NegativeEntry>();
  /** Bumped by every invalidation; a fetch started before one must not refill the cache. */
  private generationCounter = 0;

  constructor(private readonly options: KeyCacheOptions) {}

  get generation(): number {
    return this.generationCounter;
  }

  get size(): number {
    return this.positive.size + this.negative.size;
  }

  /**
   * A result still within its TTL (or a stale one while the store is backing off after a failure),
   * or `undefined` when the store must be asked.
   */
  fresh(hash: string, nowMs: number): FoundKeyResult | UnknownKeyResult | undefined {
    const entry = this.positive.get(hash);
    if (entry !== undefined) {
      if (nowMs < entry.freshUntilMs) return entry.found;
      if (nowMs >= entry.staleUntilMs) {
        this.positive.delete(hash);
        return undefined;
      }
      return nowMs < entry.retryAtMs ? entry.staleFound : undefined;
    }
    const negative = this.negative.get(hash);
    if (negative !== undefined) {
      if (nowMs < negative.untilMs) return negative.unknown;
      this.negative.delete(hash);
    }
    return undefined;
  }

  /**
   * After a failed store call: the last good answer for a known key, while within the stale-if-error
   * window. Unknown keys get none, since a key created meanwhile must not be called invalid.
   */
  stale(hash: string, nowMs: number): FoundKeyResult | undefined {
    const entry = this.positive.get(hash);
    if (entry === undefined || nowMs >= entry.staleUntilMs) return undefined;
    entry.staleFound ??= { ...entry.found, isStale: true };
    entry.retryAtMs = nowMs + this.options.storeRetryMs;
    return entry.staleFound;
  }

  /** Records a store answer; skipped when an invalidation happened since `generation` was read. */
  putFound(hash: string, record: AuthKeyRecord, nowMs: number, generation: number): FoundKeyResult {
    const principal = principalOf(record);
    const found: FoundKeyResult = {
      kind: 'found',
      hash,
      record,
      principal: principal && Object.freeze(principal),
      isStale: false,
    };
    if (generation !== this.generationCounter) return found;
    this.negative.delete(hash);
    insertBounded(this.positive, hash, this.options.maxEntries, {
      found,
      freshUntilMs: nowMs + this.options.ttlMs,
      staleUntilMs: nowMs + this.options.ttlMs + this.options.staleIfErrorMs,
      retryAtMs: 0,
      staleFound: undefined,
    });
    return found;
  }

  putUnknown(hash: string, nowMs: number, generation: number): UnknownKeyResult {
    const unknown: UnknownKeyResult = { kind: 'unknown', hash };
    if (generation !== this.generationCounter) return unknown;
    this.positive.delete(hash);
    insertBounded(this.negative, hash, this.options.maxNegativeEntries, {
      unknown,
      untilMs: nowMs + this.options.negativeTtlMs,
    });
    return unknown;
  }

  /**
   * Drops whatever `id` names: a key hash, a key id, or an organization id (all its keys). Hashes are
   * a map lookup; ids scan the cache, which is fine for an operation as rare as a revocation.
   */
  invalidate(id: string): number {
    this.generationCounter++;
    let dropped = 0;
    if (this.positive.delete(id)) dropped++;
    if (this.negative.delete(id)) dropped++;
    if (sha256Hex.test(id)) return dropped;
    for (const [hash, entry] of this.positive) {
      const record = entry.found.record;
      if (record.id === id || record.orgId === id) {
        this.positive.delete(hash);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): void {
    this.generationCounter++;
    this.positive.clear();
    this.negative.clear();
  }
}

function insertBounded<V>(map: Map<string, V>, key: string, maxEntries: number, value: V): void {
  map.delete(key);
  while (map.size >= maxEntries) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
  }
  map.set(key, value);
}
