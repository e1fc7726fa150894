import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RateLimitBackend, RateLimitBucket } from './rate-limit-backend.js';

/**
 * One round trip per request, atomic across gateway processes: every bucket of the request is counted
 * together, and a key gets its expiry in the same step that creates it, so no key is left without one.
 * KEYS: the window's bucket keys. ARGV[1]: expiry in seconds. Returns the new counts in KEYS order.
 */
const hitScript = `
local counts = {}
for index, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  counts[index] = count
end
return counts
`;
const hitScriptSha = createHash('sha1').update(hitScript).digest('hex');

export interface RedisRateLimitBackendOptions {
  /** Prepended to every key; `mgw:` by default, so keys read `mgw:rl:<bucket>:<window_start>`. */
  keyPrefix?: string;
}

export interface ConnectRedisRateLimitOptions extends RedisRateLimitBackendOptions {
  connectTimeoutMs?: number;
  /**
   * Drops a command Redis has not answered in this long. The limiter stops waiting after
   * `rateLimit.timeoutMs` anyway; this frees the command, so a silent network partition cannot pile
   * up one pending command per request until TCP notices.
   */
  commandTimeoutMs?: number;
  /** Reconnect delay after the given attempt, or `null` to stop; ioredis's backoff by default. */
  retryStrategy?(attempt: number): number | null;
  /** Connection-level errors; command failures reach the limiter, which counts and logs them. */
  onConnectionError?(error: Error): void;
}

function toCounts(reply: unknown, expected: number): number[] {
  if (!Array.isArray(reply) || reply.length !== expected || !reply.every(Number.isInteger))
    throw new Error('unexpected reply from the rate limit script');
  return reply as number[];
}

/** Redis answers `NOSCRIPT …` when its script cache does not hold the script (restart, SCRIPT FLUSH). */
function isMissingScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Counts shared by every gateway process pointed at the same Redis (LESSONS #6). Request counts and
 * token counts are separate key families: `…rl:<bucket>:<window_start>` and `…rlt:<bucket>:<window_start>`.
 * Keys expire after two windows, which tolerates clock skew of up to one window between gateway hosts.
 * The backend owns its client and closes it.
 */
export class RedisRateLimitBackend implements RateLimitBackend {
  readonly #redis: Redis;
  readonly #requestPrefix: string;
  readonly #tokenPrefix: string;

  constructor(redis: Redis, options: RedisRateLimitBackendOptions = {}) {
    this.#redis = redis;
    const prefix = options.keyPrefix ?? 'mgw:';
    this.#requestPrefix = `${prefix}rl:`;
    this.#tokenPrefix = `${prefix}rlt:`;
  }

  /**
   * A client tuned to fail fast: while disconnected, commands are refused at once instead of queued
   * (`enableOfflineQueue: false`), and a command caught by a dropped connection is not retried, so the
   * limiter fails open rather than piling up requests.
   */
  static connect(url: string, options: ConnectRedisRateLimitOptions = {}): RedisRateLimitBackend {
    const redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      ...(options.retryStrategy ? { retryStrategy: options.retryStrategy } : {}),
    });
    redis.on('error', options.onConnectionError ?? (() => {}));
    return new RedisRateLimitBackend(redis, options);
  }

  async hit(
    buckets: readonly RateLimitBucket[],
    windowStartSeconds: number,
    windowSeconds: number,
  ): Promise<number[]> {
    if (buckets.length === 0) return [];
    const keys = buckets.map((bucket) => `${this.#requestPrefix}${bucket.key}:${windowStartSeconds}`);
    const expirySeconds = windowSeconds * 2;
    let reply: unknown;
    try {
      reply = await this.#redis.evalsha(hitScriptSha, keys.length, ...keys, expirySeconds);
    } catch (error) {
      if (!isMissingScript(error)) throw error;
      reply = await this.#redis.eval(hitScript, keys.length, ...keys, expirySeconds);
    }
    return toCounts(reply, keys.length);
  }

  async addTokens(
    key: string,
    tokens: number,
    windowStartSeconds: number,
    windowSeconds: number,
  ): Promise<void> {
    const redisKey = `${this.#tokenPrefix}${key}:${windowStartSeconds}`;
    const replies = await this.#redis
      .multi()
      .incrby(redisKey, tokens)
      .expire(redisKey, windowSeconds * 2)
      .exec();
    const failure = replies?.find(([error]) => error !== null)?.[0];
    if (replies === null) throw new Error('rate limit token transaction was aborted');
    if (failure) throw failure;
  }

  async readTokens(keys: readonly string[], windowStartSeconds: number): Promise<number[]> {
    if (keys.length === 0) return [];
    const values = await this.#redis.mget(
      keys.map((key) => `${this.#tokenPrefix}${key}:${windowStartSeconds}`),
    );
    return values.map((value) => (value === null ? 0 : Number(value)));
  }

  async close(): Promise<void> {
    if (this.#redis.status === 'ready') {
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    } else {
      this.#redis.disconnect();
    }
  }
}
