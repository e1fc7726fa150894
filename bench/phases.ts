import { connect } from 'node:net';
import { cpus } from 'node:os';
import { request } from 'undici';
import { benchPids } from './launch.js';
import { type LoadResult, type PacedResult, type RequestSpec, runClosedLoop, runPaced } from './load.js';
import { startForeignLoadWindow, startOwnCpuWindow, startWindow } from './process-stats.js';
import type { MeasuredLoad, MeasuredStreams } from './report.js';
import type { Scenario, Settings } from './scenarios.js';
import { StreamClient, type StreamRoundResult } from './stream-client.js';

/** One process under measurement: its pid and, for the gateway, the upstream serving it meanwhile. */
export interface Side {
  label: string;
  pids: number[];
  upstreamPid?: number;
}

/**
 * The measuring steps of a run. Each load is checked: a non-2xx answer, a connection error, a
 * request that never completed or a broken stream is a problem of the harness or the gateway (the
 * run then exits 1), never a missed target.
 */
export class Phases {
  readonly problems: string[] = [];

  constructor(
    private readonly settings: Settings,
    private readonly log: (message: string) => void,
  ) {}

  checkLoad(label: string, load: LoadResult): void {
    if (load.ok === 0) this.problems.push(`${label}: no successful response`);
    if (load.non2xx > 0) {
      this.problems.push(`${label}: ${load.non2xx} non-2xx answers ${JSON.stringify(load.statusCodes)}`);
    }
    if (load.errors > 0) this.problems.push(`${label}: ${load.errors} connection errors`);
    if (load.timeouts > 0) {
      this.problems.push(`${label}: ${load.timeouts} requests timed out or never completed`);
    }
  }

  checkStreams(label: string, round: StreamRoundResult): void {
    if (round.failures.length === 0) return;
    const reasons = [...new Set(round.failures)].slice(0, 3).join('; ');
    this.problems.push(`${label}: ${round.failures.length}/${round.streams} streams broken (${reasons})`);
  }

  /** Closed-loop load, `settings.connections` connections, for a duration (full) or a count (smoke). */
  closedLoop(spec: RequestSpec, size: Settings['throughput']): Promise<LoadResult> {
    const bound =
      'seconds' in size
        ? { durationSeconds: size.seconds, deadlineMs: size.seconds * 1000 + 20_000 }
        : { amount: size.amount, deadlineMs: 60_000 };
    return runClosedLoop(spec, { connections: this.settings.connections, ...bound });
  }

  async warmUp(label: string, spec: RequestSpec): Promise<void> {
    this.checkLoad(`${label} warm-up`, await this.closedLoop(spec, this.settings.warmup));
  }

  measureClosed(side: Side, label: string, spec: RequestSpec, size: Settings['throughput']) {
    return this.measure(side, label, () => this.closedLoop(spec, size));
  }

  /** A short paced run (not counted) warms the harness's client, then the measured one. */
  async measurePaced(side: Side, label: string, spec: RequestSpec, ratePerSecond: number, seconds: number) {
    const paced = (durationSeconds: number) =>
      runPaced(spec, {
        ratePerSecond,
        durationSeconds,
        connections: this.settings.pacedConnections,
      });
    this.checkLoad(`${side.label} ${label} warm-up`, await paced(this.settings.pacedWarmupSeconds));
    return this.measure<PacedResult>(side, label, () => paced(seconds));
  }

  /** Runs a load while reading the CPU and peak memory of the side's processes and its upstream. */
  async measure<T extends LoadResult>(
    side: Side,
    label: string,
    run: () => Promise<T>,
  ): Promise<MeasuredLoad<T>> {
    const fullLabel = `${side.label} ${label}`;
    const windows = side.pids.map((pid) => startWindow(pid));
    const upstream = side.upstreamPid === undefined ? undefined : startWindow(side.upstreamPid);
    const harness = startOwnCpuWindow();
    const harnessWait = startWindow(process.pid);
    const foreign = startForeignLoadWindow(benchPids, cpus().length);
    const load = await run();
    const foreignLoadPercent = foreign.stop();
    const readings = windows.map((window) => window.stop());
    const runQueueWaitPercent = Math.max(
      harnessWait.stop().runQueueWaitPercent,
      ...readings.map((reading) => reading.runQueueWaitPercent),
    );
    const cpuMs = readings.reduce((sum, reading) => sum + reading.cpuMs, 0);
    this.checkLoad(fullLabel, load);
    const measured: MeasuredLoad<T> = {
      load,
      cpuMs,
      cpuMsByProcess: readings.map((reading) => reading.cpuMs),
      cpuUsPerRequest: (cpuMs * 1000) / load.ok,
      peakRssMb: Math.max(...readings.map((reading) => reading.peakRssMb)),
      harnessCpuMs: harness.stop(),
      foreignLoadPercent,
      runQueueWaitPercent,
    };
    if (upstream) measured.upstreamCpuUsPerRequest = (upstream.stop().cpuMs * 1000) / load.ok;
    this.log(
      `${fullLabel}: ${Math.round(load.requestsPerSecond)} req/s, p50 ${load.latency.p50Ms.toFixed(2)} ms, ` +
        `p99 ${load.latency.p99Ms.toFixed(2)} ms, ${measured.cpuUsPerRequest.toFixed(1)} µs CPU/request` +
        skewNote(runQueueWaitPercent, foreignLoadPercent),
    );
    return measured;
  }

  /** A warm-up round of streams on the same connections, then the measured round. */
  async measureStreams(side: Side, scenario: Scenario): Promise<MeasuredStreams> {
    const { settings } = this;
    const { url, headers, body } = scenario.stream;
    const client = new StreamClient(url, settings.streams, headers, body);
    const streamMs = settings.streamChunks * settings.streamIntervalMs;
    const options = {
      streams: settings.streams,
      rampMs: settings.streamRampMs,
      minFrames: settings.streamChunks + 1,
      perStreamTimeoutMs: streamMs + 15_000,
      deadlineMs: streamMs + settings.streamRampMs + 30_000,
    };
    const label = `${side.label} streams`;
    try {
      this.checkStreams(`${label} warm-up`, await client.run(options));
      const window = startWindow(side.pids[0] as number);
      const harnessWait = startWindow(process.pid);
      const foreign = startForeignLoadWindow(benchPids, cpus().length);
      const round = await client.run(options);
      const foreignLoadPercent = foreign.stop();
      const reading = window.stop();
      const runQueueWaitPercent = Math.max(
        reading.runQueueWaitPercent,
        harnessWait.stop().runQueueWaitPercent,
      );
      this.checkStreams(label, round);
      this.log(
        `${label}: ${round.completed}/${round.streams} complete, TTFB p50 ${round.ttfb.p50Ms.toFixed(2)} ms, ` +
          `p99 ${round.ttfb.p99Ms.toFixed(2)} ms, peak RSS ${reading.peakRssMb.toFixed(0)} MB` +
          skewNote(runQueueWaitPercent, foreignLoadPercent),
      );
      return {
        round,
        peakRssMb: reading.peakRssMb,
        cpuMs: reading.cpuMs,
        foreignLoadPercent,
        runQueueWaitPercent,
      };
    } finally {
      await client.close();
    }
  }

  /** One plain request and one stream, checked for shape, before anything is measured. */
  async preflight(label: string, scenario: Scenario): Promise<void> {
    const spec = scenario.plain;
    const response = await request(spec.urls[0] as string, {
      method: 'POST',
      headers: spec.headers,
      body: spec.body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      throw new Error(`${label}: preflight answered ${response.statusCode}: ${text.slice(0, 300)}`);
    }
    const parsed = JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] };
    if (typeof parsed.choices?.[0]?.message?.content !== 'string') {
      throw new Error(`${label}: preflight answer is not a chat completion: ${text.slice(0, 300)}`);
    }
    const client = new StreamClient(scenario.stream.url, 1, scenario.stream.headers, scenario.stream.body);
    const round = await client.run({
      streams: 1,
      rampMs: 0,
      minFrames: this.settings.streamChunks + 1,
      perStreamTimeoutMs: 10_000,
      deadlineMs: 15_000,
    });
    await client.close();
    if (round.completed !== 1)
      throw new Error(`${label}: preflight stream broken: ${round.failures.join('; ')}`);
  }
}

function skewNote(runQueueWaitPercent: number, foreignLoadPercent: number): string {
  if (runQueueWaitPercent < 5 && foreignLoadPercent < 5) return '';
  return `; waited for a CPU ${runQueueWaitPercent.toFixed(0)} % of the time, other processes took ${foreignLoadPercent.toFixed(0)} % of the machine`;
}

export function isRedisReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379), timeout: 1000 });
    const finish = (isReachable: boolean) => {
      socket.destroy();
      resolve(isReachable);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('timeout', () => finish(false));
  });
}
