export { type ClientAddressSource, clientIpOf } from './client-ip.js';
export { type CreateRateLimiterDeps, createRateLimiter } from './create-rate-limiter.js';
export type { RateLimitFailureReport } from './failure-log-throttle.js';
export { type FixedWindow, fixedWindowAt } from './fixed-window.js';
export { MemoryRateLimitBackend, RateLimitCapacityError } from './memory-rate-limit-backend.js';
export type { RateLimitBackend, RateLimitBucket } from './rate-limit-backend.js';
export {
  type RateLimitDefaults,
  type RateLimitIdentity,
  type RateLimitPlan,
  rateLimitPlanFor,
} from './rate-limit-identity.js';
export { toRateLimitError, toRateLimitHeaders } from './rate-limit-reply.js';
export {
  type RateLimitDecision,
  RateLimiter,
  type RateLimiterOptions,
  RateLimitTimeoutError,
  type TokenRateLimitState,
} from './rate-limiter.js';
// Type-only: the Redis backend's module (and ioredis) loads only when Redis is configured.
export type {
  ConnectRedisRateLimitOptions,
  RedisRateLimitBackend,
  RedisRateLimitBackendOptions,
} from './redis-rate-limit-backend.js';
