import { Counter, Gauge, Histogram, Registry } from 'prom-client';

interface TelemetryStats {
  queueDepth: number;
  spoolBytes: number;
  isStoreHealthy: boolean;
}

/** Prometheus metrics of SPEC §13.3. One registry per app so tests and instances do not share. */
export function createMetrics() {
  const registry = new Registry();
  const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  let telemetryStats: () => TelemetryStats | undefined = () => undefined;
  new Gauge({
    name: 'maniac_telemetry_queue_depth',
    help: 'Request events waiting in memory.',
    registers: [registry],
    collect() {
      this.set(telemetryStats()?.queueDepth ?? 0);
    },
  });
  new Gauge({
    name: 'maniac_telemetry_spool_bytes',
    help: 'Bytes of request events waiting in the local spool.',
    registers: [registry],
    collect() {
      this.set(telemetryStats()?.spoolBytes ?? 0);
    },
  });
  new Gauge({
    name: 'maniac_telemetry_store_healthy',
    help: '1 while request events reach the store directly, 0 while they are spooled.',
    registers: [registry],
    collect() {
      this.set(telemetryStats()?.isStoreHealthy === false ? 0 : 1);
    },
  });
  processMetrics(registry);
  return {
    registry,
    /** Late-binds the telemetry gauges to the batcher, read at scrape time. */
    bindTelemetry(stats: () => TelemetryStats | undefined) {
      telemetryStats = stats;
    },
    requests: new Counter({
      name: 'maniac_requests_total',
      help: 'Requests by endpoint, status, provider and model.',
      labelNames: ['endpoint', 'status', 'provider', 'model'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'maniac_request_duration_seconds',
      help: 'Total request latency.',
      labelNames: ['endpoint'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: 'maniac_time_to_first_token_seconds',
      help: 'Time from receipt to the first content byte of a stream.',
      labelNames: ['provider', 'model'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    upstreamAttempts: new Counter({
      name: 'maniac_upstream_attempts_total',
      help: 'Upstream attempts by provider and outcome code.',
      labelNames: ['provider', 'code'] as const,
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: 'maniac_fallbacks_total',
      help: 'Requests served by a fallback candidate.',
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'maniac_tokens_total',
      help: 'Tokens by kind (prompt, completion), provider and model.',
      labelNames: ['kind', 'provider', 'model'] as const,
      registers: [registry],
    }),
    costUsd: new Counter({
      name: 'maniac_cost_usd_total',
      help: 'Cost in USD by provider and model.',
      labelNames: ['provider', 'model'] as const,
      registers: [registry],
    }),
    streamsInFlight: new Gauge({
      name: 'maniac_streams_in_flight',
      help: 'Streams currently open to clients.',
      registers: [registry],
    }),
    authStoreErrors: new Counter({
      name: 'maniac_auth_store_errors_total',
      help: 'Key lookups that failed because the store was unreachable.',
      registers: [registry],
    }),
    billingRejections: new Counter({
      name: 'maniac_billing_rejections_total',
      help: 'Requests refused by the billing pre-flight, by code.',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    rateLimitFailOpen: new Counter({
      name: 'maniac_ratelimit_fail_open_total',
      help: 'Requests allowed because the limiter backend failed or was too slow.',
      registers: [registry],
    }),
    telemetryBatchDuration: new Histogram({
      name: 'maniac_telemetry_batch_duration_seconds',
      help: 'Time to write one batch of request events, by target (sink or spool).',
      labelNames: ['target'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: [registry],
    }),
    telemetrySpooled: new Counter({
      name: 'maniac_telemetry_spooled_events_total',
      help: 'Request events written to the local spool because the store was unavailable.',
      registers: [registry],
    }),
    telemetryReplayed: new Counter({
      name: 'maniac_telemetry_replayed_events_total',
      help: 'Spooled request events written to the store after recovery.',
      registers: [registry],
    }),
    telemetryDropped: new Counter({
      name: 'maniac_telemetry_dropped_events_total',
      help: 'Request events lost because the queue and the spool were full.',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The process's memory and CPU under prom-client's default names, read at scrape time: what an
 * operator watches first. prom-client's own collector is not used: it loads at start the modules of
 * every default metric (event loop lag, GC, handles) and costs start-up for all of them.
 */
function processMetrics(registry: Registry): void {
  const memory = [
    ['process_resident_memory_bytes', 'Resident memory size in bytes.', 'rss'],
    ['nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', 'heapTotal'],
    ['nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', 'heapUsed'],
    ['nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', 'external'],
  ] as const;
  for (const [name, help, field] of memory) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(process.memoryUsage()[field]);
      },
    });
  }
  new Gauge({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      this.set((user + system) / 1e6);
    },
  });
}
