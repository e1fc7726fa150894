import type { FastifyInstance } from 'fastify';
import { ChatCompletionsHandler } from './api/chat-completions.js';
import { createInternalKeyAuthenticator } from './auth/internal-key.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config/config.js';
import { buildHttpServer, type FinishedRequest } from './http/server.js';
import { ids as defaultIds, type Ids } from './ids.js';
import type { Provider } from './providers/provider.js';
import { providerRegistry } from './providers/registry.js';
import { ModelCatalog, readBuiltInCatalog } from './routing/model-catalog.js';
import { startModelDiscovery } from './routing/model-discovery.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { createMetrics } from './telemetry/metrics.js';
import { UpstreamClient } from './upstream/upstream-client.js';

export interface AppDeps {
  config: Config;
  clock?: Clock;
  ids?: Ids;
  logger?: Logger;
  providers?: Partial<Record<Config['providers'][number]['type'], Provider>>;
  onRequestFinished?(request: FinishedRequest): void;
}

export interface App {
  server: FastifyInstance;
  catalog: ModelCatalog;
  logger: Logger;
  /** Starts background work (discovery) and marks the app ready. */
  start(): Promise<void>;
  /** Listens on the configured host and port; returns the bound address. */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting, lets in-flight requests finish up to the drain deadline, then releases all. */
  close(): Promise<void>;
}

/** Wires implementations together. Tests call this directly; main.ts and the CLI too. */
export function buildApp(deps: AppDeps): App {
  const config = deps.config;
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? defaultIds;
  const logger = deps.logger ?? createLogger(config.telemetry.logLevel);
  const metrics = createMetrics();
  const providers = deps.providers ?? providerRegistry;
  const catalog = new ModelCatalog({
    builtIn: readBuiltInCatalog(),
    configured: config.models,
    providers: config.providers,
    providerPreference: config.routing.providerPreference,
    hideUnkeyed: config.catalog.hideUnkeyed,
  });
  const upstream = new UpstreamClient();
  const chatCompletions = new ChatCompletionsHandler({ config, catalog, providers, upstream, ids, clock });
  let state: 'starting' | 'ready' | 'draining' = 'starting';
  let stopDiscovery: () => void = () => {};

  const server = buildHttpServer({
    config,
    catalog,
    chatCompletions,
    authenticate: createInternalKeyAuthenticator(config.auth.internalKey),
    logger,
    metrics,
    ids,
    clock,
    readiness: () => ({ status: state, checks: { storage: 'ok', ratelimit: 'ok' } }),
    isDraining: () => state === 'draining',
    onRequestFinished: deps.onRequestFinished,
  });

  return {
    server,
    catalog,
    logger,
    async start() {
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
      state = 'ready';
    },
    async listen() {
      const address = await server.listen({ host: config.server.host, port: config.server.port });
      const bound = server.server.address();
      const port = typeof bound === 'object' && bound ? bound.port : config.server.port;
      const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
      return { host, port, url: address.startsWith('http') ? `http://${host}:${port}` : address };
    },
    async close() {
      state = 'draining';
      stopDiscovery();
      const drain = server.close();
      const deadline = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.server.closeAllConnections();
          resolve();
        }, config.shutdown.drainTimeoutMs);
        timer.unref();
      });
      await Promise.race([drain, deadline]);
      await upstream.close();
      logger.flush();
    },
  };
}
