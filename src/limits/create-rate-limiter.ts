import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { MemoryRateLimitBackend } from './memory-rate-limit-backend.js';
import type { RateLimitBackend } from './rate-limit-backend.js';
import { RateLimiter } from './rate-limiter.js';

export interface CreateRateLimiterDeps {
  config: Config['rateLimit'];
  clock: Clock;
  metrics: Pick<Metrics, 'rateLimitFailOpen'>;
  logger: Pick<Logger, 'warn'>;
  /** Replaces the backend chosen from `config.redisUrl` (tests). */
  backend?: RateLimitBackend;
}

/**
 * Redis when `rateLimit.redisUrl` is set (shared by every instance), else this process's memory. The
 * Redis backend's module, and ioredis with it, is loaded only then: start-up without Redis skips it.
 */
export async function createRateLimiter(deps: CreateRateLimiterDeps): Promise<RateLimiter> {
  const { config, clock, metrics, logger } = deps;
  const backend = deps.backend ?? (await backendFor(config.redisUrl));
  return new RateLimiter({
    ...config,
    backend,
    clock,
    onFailOpen: () => metrics.rateLimitFailOpen.inc(),
    onFailureLog: ({ error, failures }) =>
      logger.warn(
        { error: error instanceof Error ? error.message : String(error), failures },
        'rate limit backend failed; requests are allowed (fail open)',
      ),
  });
}

async function backendFor(redisUrl: string | undefined): Promise<RateLimitBackend> {
  if (redisUrl === undefined) return new MemoryRateLimitBackend();
  const { RedisRateLimitBackend } = await import('./redis-rate-limit-backend.js');
  return RedisRateLimitBackend.connect(redisUrl, {
    // Connection errors repeat on every reconnect attempt; failed commands are logged (throttled).
    onConnectionError: () => {},
  });
}
