import autocannon, { type Result as AutocannonResult } from 'autocannon';
import { Pool } from 'undici';

/**
 * Load generators. Both run inside the harness process, on the same cores as what they measure.
 *
 * - `runClosedLoop`: autocannon with N connections, each sending its next request as soon as the last
 *   answer arrived: the maximum throughput.
 * - `runPaced`: an open-loop client sending at a fixed rate, one request every 1/rate s. autocannon's
 *   `overallRate` is not used for this: it splits the rate over its connections and each connection
 *   sends its share back to back at the start of every second, then idles (autocannon 8,
 *   lib/httpClient.js `_doRequest` and `rateInterval`), so its latencies are those of a burst.
 *
 * Latencies are kept as exact samples (autocannon's own histogram has 1 ms resolution, too coarse
 * for sub-millisecond differences), in a buffer of bounded size.
 */

export interface RequestSpec {
  urls: string[];
  headers: Record<string, string>;
  body: Buffer;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

const maxLatencySamples = 2_000_000;

export class LatencyRecorder {
  private readonly samples: Float64Array;
  private count = 0;

  constructor(capacity = maxLatencySamples) {
    this.samples = new Float64Array(capacity);
  }

  record(milliseconds: number): void {
    if (this.count < this.samples.length) this.samples[this.count++] = milliseconds;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.count).sort();
    const at = (quantile: number) =>
      sorted.length === 0
        ? Number.NaN
        : (sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] as number);
    let total = 0;
    for (const value of sorted) total += value;
    return {
      count: sorted.length,
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
      maxMs: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
      meanMs: sorted.length === 0 ? Number.NaN : total / sorted.length,
    };
  }
}

export interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  elapsedSeconds: number;
  requestsPerSecond: number;
  latency: LatencySummary;
  statusCodes: Record<string, number>;
}

export interface ClosedLoopOptions {
  connections: number;
  /** Either a duration or a fixed number of requests. */
  durationSeconds?: number;
  amount?: number;
  /** Hard stop, whatever happens. */
  deadlineMs: number;
}

export async function runClosedLoop(spec: RequestSpec, options: ClosedLoopOptions): Promise<LoadResult> {
  const latencies = new LatencyRecorder();
  const startedAt = performance.now();
  let deadline: NodeJS.Timeout | undefined;
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.urls.length === 1 ? (spec.urls[0] as string) : spec.urls,
        method: 'POST',
        headers: spec.headers,
        body: spec.body,
        connections: options.connections,
        ...(options.amount === undefined
          ? { duration: options.durationSeconds ?? 10 }
          : { amount: options.amount }),
        timeout: 10,
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on(
      'response',
      (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
        if (statusCode >= 200 && statusCode < 300) latencies.record(responseTimeMs);
      },
    );
    deadline = setTimeout(() => instance.stop(), options.deadlineMs);
  });
  clearTimeout(deadline);
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats)) statusCodes[code] = stats.count;
  return {
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    elapsedSeconds,
    requestsPerSecond: result['2xx'] / elapsedSeconds,
    latency: latencies.summary(),
    statusCodes,
  };
}

export interface PacedOptions {
  ratePerSecond: number;
  durationSeconds: number;
  connections: number;
}

export interface PacedResult extends LoadResult {
  /** How late the harness sent requests against the schedule (its own timer jitter and backlog). */
  sendLagP99Ms: number;
  /** Requests never sent: the target could not keep the rate (a missed target, not a broken run). */
  unsent: number;
}

const pacedRequestTimeoutMs = 10_000;

/**
 * Sends `ratePerSecond × durationSeconds` requests on schedule from a 1 ms timer, at most
 * `connections` in flight (more would queue inside the pool and measure the harness). Latency runs
 * from the moment a request is handed to the pool until its body has been read. A target that
 * cannot keep the rate gets half the duration again; what is still unsent then is counted, and the
 * requests in flight get their timeout to finish.
 */
export async function runPaced(spec: RequestSpec, options: PacedOptions): Promise<PacedResult> {
  const url = new URL(spec.urls[0] as string);
  const pool = new Pool(url.origin, { connections: options.connections, pipelining: 1 });
  const path = url.pathname + url.search;
  const total = Math.max(1, Math.round(options.ratePerSecond * options.durationSeconds));
  const intervalMs = 1000 / options.ratePerSecond;
  const latencies = new LatencyRecorder(total);
  const sendLags = new LatencyRecorder(total);
  const statusCodes: Record<string, number> = {};
  const requestOptions = {
    method: 'POST' as const,
    path,
    headers: spec.headers,
    body: spec.body,
    headersTimeout: pacedRequestTimeoutMs,
    bodyTimeout: pacedRequestTimeoutMs,
  };
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let settled = 0;

  const send = (intendedAt: number) => {
    const sentAt = performance.now();
    sendLags.record(sentAt - intendedAt);
    pool
      .request(requestOptions)
      .then(async (response) => {
        await response.body.dump({ limit: Number.POSITIVE_INFINITY });
        const code = String(response.statusCode);
        statusCodes[code] = (statusCodes[code] ?? 0) + 1;
        if (response.statusCode >= 200 && response.statusCode < 300) {
          ok += 1;
          latencies.record(performance.now() - sentAt);
        } else {
          non2xx += 1;
        }
      })
      .catch(() => {
        errors += 1;
      })
      .finally(() => {
        settled += 1;
      });
  };

  // Open every connection first, so that the schedule does not start with TCP handshakes.
  await Promise.all(
    Array.from({ length: options.connections }, () =>
      pool
        .request(requestOptions)
        .then((response) => response.body.dump({ limit: Number.POSITIVE_INFINITY }))
        .catch(() => undefined),
    ),
  );
  const startedAt = performance.now();
  const sendUntil = startedAt + options.durationSeconds * 1500 + 1000;
  let settleUntil = Number.POSITIVE_INFINITY;
  let endedAt = startedAt;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (settled === sent && (sent === total || now > sendUntil)) {
        endedAt = now;
        resolve();
        return;
      }
      if (now > settleUntil) {
        endedAt = now;
        resolve();
        return;
      }
      if (sent < total && now <= sendUntil) {
        const due = Math.min(total, Math.floor((now - startedAt) / intervalMs) + 1);
        while (sent < due && sent - settled < options.connections) {
          send(startedAt + sent * intervalMs);
          sent += 1;
        }
      } else if (settleUntil === Number.POSITIVE_INFINITY) {
        settleUntil = now + pacedRequestTimeoutMs + 2000;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  const elapsedSeconds = (endedAt - startedAt) / 1000;
  await pool.destroy();
  return {
    ok,
    non2xx,
    errors,
    timeouts: sent - settled,
    elapsedSeconds,
    requestsPerSecond: ok / elapsedSeconds,
    latency: latencies.summary(),
    statusCodes,
    sendLagP99Ms: sendLags.summary().p99Ms,
    unsent: total - sent,
  };
}
