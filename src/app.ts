import type { FastifyInstance } from 'fastify';
import { ChatCompletionsHandler } from './api/chat-completions.js';
import { createRegisteredGenerator } from './api/registered-generation.js';
import { loadBodyValidation } from './api/request-validation.js';
import { ResponsesService } from './api/responses.js';
import { KeyAuthenticator } from './auth/key-authenticator.js';
import type { RedisRevocationBus } from './auth/redis-revocation-bus.js';
import { BillingGate } from './billing/billing-gate.js';
import { LocalLedger, storeLedger } from './billing/local-ledger.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config/config.js';
import { buildHttpServer, type FinishedRequest } from './http/server.js';
import { ids as defaultIds, type Ids, randomBase62 } from './ids.js';
import { createRateLimiter, type RateLimitBackend } from './limits/index.js';
import type { Provider } from './providers/provider.js';
import { providerRegistry } from './providers/registry.js';
import { ContainerRouter } from './routing/containers.js';
import { ModelCatalog, readBuiltInCatalog } from './routing/model-catalog.js';
import { startModelDiscovery } from './routing/model-discovery.js';
import { createStore } from './store/create-store.js';
import type { Store } from './store/repositories.js';
import type { TelemetryBatcher } from './telemetry/batcher.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { createMetrics, type Metrics } from './telemetry/metrics.js';
import { openTelemetryBatcher } from './telemetry/open-batcher.js';
import { toRequestEvent } from './telemetry/request-event-builder.js';
import { createChargingSink, createSettlingSink } from './telemetry/settling-sink.js';
import { UpstreamClient } from './upstream/upstream-client.js';

export interface AppDeps {
  config: Config;
  clock?: Clock;
  ids?: Ids;
  logger?: Logger;
  providers?: Partial<Record<Config['providers'][number]['type'], Provider>>;
  /** An open store; by default one is opened from `storage.databaseUrl` (and closed with the app). */
  store?: Store;
  /** Rate-limit backend override (tests); by default memory, or Redis when `rateLimit.redisUrl` is set. */
  rateLimitBackend?: RateLimitBackend;
  onRequestFinished?(request: FinishedRequest): void;
}

export interface App {
  server: FastifyInstance;
  catalog: ModelCatalog;
  logger: Logger;
  metrics: Metrics;
  store: Store;
  auth: KeyAuthenticator;
  billing: BillingGate;
  /** Container routes, cached briefly; platform endpoints invalidate what they change. */
  containers: ContainerRouter;
  /** Starts background work (telemetry, discovery) and marks the app ready. */
  start(): Promise<void>;
  /** Listens on the configured host and port; returns the bound address. */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /** Writes queued request events now (tests and shutdown). */
  flushTelemetry(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish up to the drain deadline, flushes, releases all. */
  close(): Promise<void>;
  /** A second signal: spool queued request events without waiting for the store, then return. */
  closeNow(): Promise<void>;
}

/** Wires implementations together. Tests call this directly; main.ts and the CLI too. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const config = deps.config;
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? defaultIds;
  const logger = deps.logger ?? createLogger(config.telemetry.logLevel);
  const metrics = createMetrics();
  const providers = deps.providers ?? providerRegistry;
  const ownsStore = deps.store === undefined;
  const store = deps.store ?? (await createStore(config.storage.databaseUrl, { clock }));
  const catalog = new ModelCatalog({
    builtIn: readBuiltInCatalog(),
    configured: config.models,
    providers: config.providers,
    providerPreference: config.routing.providerPreference,
    hideUnkeyed: config.catalog.hideUnkeyed,
  });
  const upstream = new UpstreamClient();
  const redisUrl = config.rateLimit.redisUrl;
  // ioredis is loaded only when Redis is configured.
  const revocations: RedisRevocationBus | undefined = redisUrl
    ? (await import('./auth/redis-revocation-bus.js')).RedisRevocationBus.connect(redisUrl, {
        onError: (error) => logger.warn({ error: String(error) }, 'revocation bus'),
      })
    : undefined;
  const auth = new KeyAuthenticator({
    apiKeys: store.apiKeys,
    clock,
    auth: config.auth,
    resolveInternalAttribution: (org, project) => store.projects.resolveAttribution(org, project),
    revocations,
    onStoreError: (error) => {
      metrics.authStoreErrors.inc();
      logger.warn({ error: String(error) }, 'key store unavailable');
    },
  });
  const rateLimiter = await createRateLimiter({
    config: config.rateLimit,
    clock,
    metrics,
    logger,
    ...(deps.rateLimitBackend ? { backend: deps.rateLimitBackend } : {}),
  });
  // SQLite is single-instance (SPEC §10): reservations can live in this process's memory.
  const localLedger =
    store.dialect === 'sqlite' ? new LocalLedger({ billing: store.billing, clock }) : undefined;
  const ledger = localLedger ?? storeLedger(store.billing);
  const billing = new BillingGate({
    ledger,
    budgets: store.billing,
    mode: config.billing.mode,
    clock,
    newReservationId: () => `rsv_${randomBase62(24)}`,
    onRejected: (code) => metrics.billingRejections.inc({ code }),
  });
  const containers = new ContainerRouter(store.containers, clock);
  const chatCompletions = new ChatCompletionsHandler({
    config,
    catalog,
    providers,
    upstream,
    ids,
    clock,
    billing,
    containers,
  });
  let telemetry: TelemetryBatcher | undefined;
  let state: 'starting' | 'ready' | 'draining' = 'starting';
  let stopDiscovery: () => void = () => {};
  const eventOptions = {
    storeBodies: config.telemetry.storeBodies,
    storeClientIp: config.telemetry.storeClientIp,
  };

  const onRequestFinished = (finished: FinishedRequest) => {
    telemetry?.enqueue(toRequestEvent(finished, eventOptions, ids, clock));
    const usage = finished.record.usage;
    if (usage && finished.rateLimitSubject)
      void rateLimiter.recordTokens(finished.rateLimitSubject, usage.total_tokens);
    deps.onRequestFinished?.(finished);
  };

  const responses = new ResponsesService({
    chat: chatCompletions,
    store: store.responses,
    config,
    clock,
    ids,
    logger,
    onJobFinished: (finished) => onRequestFinished(finished),
  });

  const http = buildHttpServer({
    config,
    catalog,
    chatCompletions,
    responses,
    auth,
    rateLimiter,
    logger,
    metrics,
    ids,
    clock,
    readiness: () => ({
      status: state,
      checks: {
        storage: telemetry?.isStoreHealthy === false ? 'degraded' : 'ok',
        ratelimit: rateLimiter.health,
      },
    }),
    isDraining: () => state === 'draining',
    onRequestFinished,
    platform: {
      store,
      catalog,
      clock,
      containers: config.containers,
      flush: async () => {
        await telemetry?.flush();
      },
      onContainerChanged: (projectId, label) => containers.invalidate(projectId, label),
      logger,
      generate: createRegisteredGenerator({
        chatCompletions,
        store,
        ids,
        clock,
        onFinished: (generation) =>
          onRequestFinished({
            ...generation,
            userAgent: undefined,
            clientIp: '',
            rateLimitSubject: undefined,
          }),
        onError: (error) => logger.error({ err: error }, 'registered completion generation failed'),
      }),
    },
    admin: {
      store,
      revoke: (id) => auth.propagateRevocation(id),
      onBillingChanged: (orgId) => billing.invalidateBudgets(orgId),
      heldMicros: (orgId) => billing.heldMicros(orgId),
      clock,
    },
  });
  const server = http.app;

  const touchKeys = setInterval(() => {
    const used = auth.drainUsedKeys();
    if (used.length > 0) {
      store.apiKeys.touchLastUsed(used, clock.now()).catch((error: unknown) => {
        logger.warn({ error: String(error) }, 'last_used_at update failed');
      });
    }
  }, 10_000);
  touchKeys.unref();

  // Retention (SPEC §10): daily purge of old events and bodies; reservations a crashed process
  // left open are released once they are older than any request could run.
  const dayMs = 86_400_000;
  let lastPurgeAt = clock.now();
  const maintenance = setInterval(() => {
    const now = clock.now();
    ledger.releaseStale(now - config.timeouts.totalMs - 300_000, now).catch((error: unknown) => {
      logger.warn({ error: String(error) }, 'releasing stale reservations failed');
    });
    if (now - lastPurgeAt < dayMs) return;
    lastPurgeAt = now;
    Promise.all([
      store.requestEvents.purge({ before: now - 90 * dayMs, bodiesBefore: now - 30 * dayMs }),
      store.responses.purge(now - 30 * dayMs),
    ]).catch((error: unknown) => logger.warn({ error: String(error) }, 'retention purge failed'));
  }, 60_000);
  maintenance.unref();

  return {
    server,
    catalog,
    logger,
    metrics,
    store,
    auth,
    billing,
    containers,
    async start() {
      telemetry = await openTelemetryBatcher({
        // In-memory reservations are charged by the request log's own write (decision 0014).
        sink:
          localLedger === undefined
            ? createSettlingSink(store.requestEvents, ledger)
            : createChargingSink(store.requestEvents, localLedger),
        spoolDir: config.storage.spoolDir,
        spoolMaxBytes: config.telemetry.spoolMaxBytes,
        batchSize: config.telemetry.batchSize,
        flushIntervalMs: config.telemetry.flushIntervalMs,
        queueMax: config.telemetry.queueMax,
        queueMaxBytes: config.telemetry.queueMaxBytes,
        batchMaxBytes: config.telemetry.batchMaxBytes,
        clock,
        hooks: {
          onBatchWritten: ({ target, events, latencyMs }) => {
            metrics.telemetryBatchDuration.observe({ target }, latencyMs / 1000);
            if (target === 'spool') metrics.telemetrySpooled.inc(events);
          },
          onReplayed: ({ events }) => metrics.telemetryReplayed.inc(events),
          onDropped: (count) => metrics.telemetryDropped.inc(count),
          onStoreHealthChanged: (isHealthy) =>
            logger.warn({ healthy: isHealthy }, 'request log store health changed'),
          onError: (error, operation) =>
            logger.warn({ error: String(error), operation }, 'request log write failed'),
        },
      });
      metrics.bindTelemetry(() => telemetry?.stats());
      stopDiscovery = await startModelDiscovery(
        {
          catalog,
          providers,
          upstream,
          onError: (provider, error) =>
            logger.warn({ provider, error: (error as Error).message }, 'model discovery failed'),
        },
        config.providers,
      );
      await server.ready();
      responses.start();
      state = 'ready';
    },
    async listen() {
      const address = await server.listen({ host: config.server.host, port: config.server.port });
      const bound = server.server.address();
      const port = typeof bound === 'object' && bound ? bound.port : config.server.port;
      const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
      // Ajv loads after start-up, while the gateway already listens; a request before then waits for
      // it, and would be the one to report a failure to load it.
      loadBodyValidation().catch(() => {});
      return { host, port, url: address.startsWith('http') ? `http://${host}:${port}` : address };
    },
    async flushTelemetry() {
      await telemetry?.flush();
    },
    async closeNow() {
      state = 'draining';
      await telemetry?.close({ spoolOnly: true });
    },
    async close() {
      // SPEC §13.5: unready, stop listening, let in-flight work finish until the drain deadline,
      // then end open streams in-band, flush the request log, release everything.
      state = 'draining';
      // Background jobs: claim no more; running ones get the drain deadline, then fail (SPEC §12.3).
      const jobsClosed = responses.close();
      stopDiscovery();
      clearInterval(touchKeys);
      clearInterval(maintenance);
      const drained = server.close();
      let deadlineTimer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        deadlineTimer = setTimeout(() => resolve('deadline'), config.shutdown.drainTimeoutMs);
      });
      if ((await Promise.race([drained, deadline])) === 'deadline') {
        http.stopStreams();
        server.server.closeIdleConnections();
        const forced = setTimeout(() => server.server.closeAllConnections(), 1000);
        await drained;
        clearTimeout(forced);
      }
      clearTimeout(deadlineTimer);
      await jobsClosed;
      await telemetry?.close();
      await upstream.close();
      await rateLimiter.close();
      auth.close();
      await revocations?.close();
      if (ownsStore) await store.close();
      logger.flush();
    },
  };
}
