import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { MemoryRateLimitBackend } from './memory-rate-limit-backend.js';
import type { RateLimitBackend } from './rate-limit-backend.js';
import { RateLimiter } from './rate-limiter.js';
import { RedisRateLimitBackend } from './redis-rate-limit-backend.js';

export interface CreateRateLimiterDeps {
  config: Config['rateLimit'];
  clock: Clock;
  metrics: Pick<Metrics, 'rateLimitFailOpen'>;
  logger: Pick<Logger, 'warn'>;
  /** Replaces the backend chosen from `config.redisUrl` (tests). */
  backend?: RateLimitBackend;
}

/** Redis when `rateLimit.redisUrl` is set (shared by every instance), else this process's memory. */
export function createRateLimiter(deps: CreateRateLimiterDeps): RateLimiter {
  const { config, clock, metrics, logger } = deps;
  const backend =
    deps.backend ??
    (config.redisUrl === undefined
      ? new MemoryRateLimitBackend()
      : RedisRateLimitBackend.connect(config.redisUrl, {
          // Connection errors repeat on every reconnect attempt; failed commands are logged (throttled).
          onConnectionError: () => {},
        }));
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
