import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ProfileSummary } from './cpu-profile.js';
import type { LoadResult, PacedResult } from './load.js';
import type { StreamRoundResult } from './stream-client.js';

/** The shape of one run's JSON, the comparison table and the targets of the issue. */

/** A load run plus what the measured process spent on it. */
export interface MeasuredLoad<T extends LoadResult = LoadResult> {
  load: T;
  cpuMs: number;
  /** Per measured process, when several gateways share the load. */
  cpuMsByProcess: number[];
  cpuUsPerRequest: number;
  peakRssMb: number;
  /** The bare upstream's CPU during a gateway run (it serves the gateway meanwhile). */
  upstreamCpuUsPerRequest?: number;
  /** The harness's own CPU (load generator), for judging whether it was the bottleneck. */
  harnessCpuMs: number;
  /** CPU used by processes outside the bench, as % of the machine (should be ~0 for a clean run). */
  foreignLoadPercent: number;
  /** Most any measured main thread (target or harness) waited for a CPU, as % of the phase. */
  runQueueWaitPercent: number;
}

export interface MeasuredStreams {
  round: StreamRoundResult;
  peakRssMb: number;
  cpuMs: number;
  foreignLoadPercent: number;
  runQueueWaitPercent: number;
}

export interface Pair<T> {
  bare: T;
  gateway: T;
}

export interface RunMeta {
  startedAt: string;
  mode: 'full' | 'smoke';
  command: string;
  commit: string;
  hasUncommittedChanges: boolean;
  machine: { host: string; cpu: string; cores: number; memoryGb: number; kernel: string; node: string };
  features: string[];
  bearer: string;
  gatewayNodeArgs: string[];
  settings: Record<string, number>;
  isPeakRssPerPhase: boolean;
  /** 1-minute load average when the run started. */
  loadAverageAtStart: number;
}

export interface BenchReport {
  meta: RunMeta;
  startup: {
    gatewayReadyMs: number[];
    gatewayReadyCpuMs: number[];
    /** Resident memory once ready, before any load (the gateway after its start-up samples). */
    gatewayIdleRssMb: number;
    bareIdleRssMb: number;
  };
  throughput: Pair<MeasuredLoad>;
  /** bench/minimal-hop.ts under the throughput load: the least any Node proxy hop costs here. */
  minimalHop: MeasuredLoad;
  /** The same hop at the paced rate: the latency any Node hop adds. */
  minimalHopPaced: MeasuredLoad<PacedResult>;
  paced: { ratePerSecond: number } & Pair<MeasuredLoad<PacedResult>>;
  bigPrompt: {
    sizeKb: number;
    throughput: Pair<MeasuredLoad>;
    paced: { ratePerSecond: number } & Pair<MeasuredLoad<PacedResult>>;
  };
  streaming: { streams: number; chunks: number; intervalMs: number } & Pair<MeasuredStreams>;
  processes?: { count: number; one: MeasuredLoad; many: MeasuredLoad };
  profile?: ProfileSummary;
  /** Other threads of the profiled gateway (the SQLite writer thread), same window. */
  threadProfiles?: ProfileSummary[];
  targets: TargetResult[];
  /** Anything that means the harness or the gateway broke (non-2xx, errors, broken streams). */
  problems: string[];
}

export interface TargetResult {
  name: string;
  value: number;
  limit: string;
  isMet: boolean;
}

export function runMeta(
  fields: Omit<
    RunMeta,
    'startedAt' | 'command' | 'commit' | 'hasUncommittedChanges' | 'machine' | 'loadAverageAtStart'
  >,
  startedAt: Date,
  loadAverageAtStart: number,
): RunMeta {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const cpuList = cpus();
  return {
    startedAt: startedAt.toISOString(),
    loadAverageAtStart,
    command: `tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    commit: git(['rev-parse', 'HEAD']) || 'unknown',
    hasUncommittedChanges: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    machine: {
      host: hostname(),
      cpu: cpuList[0]?.model ?? 'unknown',
      cores: cpuList.length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
    },
    ...fields,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
}

export function evaluateTargets(report: Omit<BenchReport, 'targets'>): TargetResult[] {
  const { throughput, paced, streaming } = report;
  const cpuRatio = throughput.gateway.cpuUsPerRequest / throughput.bare.cpuUsPerRequest;
  const throughputRatio = throughput.gateway.load.requestsPerSecond / throughput.bare.load.requestsPerSecond;
  const addedP50 = paced.gateway.load.latency.p50Ms - paced.bare.load.latency.p50Ms;
  const addedP99 = paced.gateway.load.latency.p99Ms - paced.bare.load.latency.p99Ms;
  const addedTtfb = streaming.gateway.round.ttfb.p50Ms - streaming.bare.round.ttfb.p50Ms;
  const readyMs = median(report.startup.gatewayReadyMs);
  return [
    { name: 'CPU per request vs bare', value: cpuRatio, limit: '≤ 4×', isMet: cpuRatio <= 4 },
    { name: 'throughput vs bare', value: throughputRatio, limit: '≥ 0.25×', isMet: throughputRatio >= 0.25 },
    {
      name: `added p50 at ${paced.ratePerSecond} req/s (ms)`,
      value: addedP50,
      limit: '≤ 0.5 ms',
      isMet: addedP50 <= 0.5,
    },
    {
      name: `added p99 at ${paced.ratePerSecond} req/s (ms)`,
      value: addedP99,
      limit: '≤ 3 ms',
      isMet: addedP99 <= 3,
    },
    {
      name: `added TTFB p50, ${streaming.streams} streams (ms)`,
      value: addedTtfb,
      limit: '≤ 2 ms',
      isMet: addedTtfb <= 2,
    },
    {
      name: 'peak RSS under streaming (MB)',
      value: streaming.gateway.peakRssMb,
      limit: '≤ 150 MB',
      isMet: streaming.gateway.peakRssMb <= 150,
    },
    { name: 'start-up to ready, median (ms)', value: readyMs, limit: '< 500 ms', isMet: readyMs < 500 },
  ];
}

type Row = [string, string, string, string, string];

const number = (value: number, digits: number) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';
const ratio = (gateway: number, bare: number) => `${number(gateway / bare, 2)}×`;
const added = (gateway: number, bare: number, digits = 2) => {
  const difference = gateway - bare;
  return `${difference >= 0 ? '+' : ''}${number(difference, digits)}`;
};

function verdict(targets: TargetResult[], name: string): string {
  const target = targets.find((candidate) => candidate.name.startsWith(name));
  return target ? `${target.limit} ${target.isMet ? 'PASS' : 'FAIL'}` : '';
}

function achievedRow(label: string, pair: Pair<MeasuredLoad<PacedResult>>): Row {
  const cell = (side: MeasuredLoad<PacedResult>) =>
    number(side.load.requestsPerSecond, 0) + (side.load.unsent > 0 ? ` (${side.load.unsent} unsent)` : '');
  return [label, cell(pair.bare), cell(pair.gateway), '', ''];
}

export function tableRows(report: BenchReport): Row[] {
  const { throughput: t, paced: p, bigPrompt: big, streaming: s, targets } = report;
  const latencyRows = (label: string, pair: Pair<MeasuredLoad>, targetPrefix?: string): Row[] => [
    [
      `${label} p50 (ms)`,
      number(pair.bare.load.latency.p50Ms, 2),
      number(pair.gateway.load.latency.p50Ms, 2),
      added(pair.gateway.load.latency.p50Ms, pair.bare.load.latency.p50Ms),
      targetPrefix ? verdict(targets, `${targetPrefix} p50`) : '',
    ],
    [
      `${label} p99 (ms)`,
      number(pair.bare.load.latency.p99Ms, 2),
      number(pair.gateway.load.latency.p99Ms, 2),
      added(pair.gateway.load.latency.p99Ms, pair.bare.load.latency.p99Ms),
      targetPrefix ? verdict(targets, `${targetPrefix} p99`) : '',
    ],
  ];
  const ready = report.startup.gatewayReadyMs;
  return [
    [
      'throughput, 64 connections (req/s)',
      number(t.bare.load.requestsPerSecond, 0),
      number(t.gateway.load.requestsPerSecond, 0),
      ratio(t.gateway.load.requestsPerSecond, t.bare.load.requestsPerSecond),
      verdict(targets, 'throughput'),
    ],
    [
      'CPU per request at max load (µs)',
      number(t.bare.cpuUsPerRequest, 1),
      number(t.gateway.cpuUsPerRequest, 1),
      ratio(t.gateway.cpuUsPerRequest, t.bare.cpuUsPerRequest),
      verdict(targets, 'CPU per request'),
    ],
    [
      'load generator CPU at max load (% of a core)',
      number((100 * t.bare.harnessCpuMs) / (1000 * t.bare.load.elapsedSeconds), 0),
      number((100 * t.gateway.harnessCpuMs) / (1000 * t.gateway.load.elapsedSeconds), 0),
      '',
      '',
    ],
    ...latencyRows('latency at max load', t),
    [
      'RSS when ready, idle (MB)',
      number(report.startup.bareIdleRssMb, 0),
      number(report.startup.gatewayIdleRssMb, 0),
      '',
      '',
    ],
    ['peak RSS at max load (MB)', number(t.bare.peakRssMb, 0), number(t.gateway.peakRssMb, 0), '', ''],
    achievedRow(`achieved rate, ${p.ratePerSecond} req/s asked`, p),
    ...latencyRows(`latency at ${p.ratePerSecond} req/s`, p, 'added'),
    [
      `CPU per request at ${p.ratePerSecond} req/s (µs)`,
      number(p.bare.cpuUsPerRequest, 1),
      number(p.gateway.cpuUsPerRequest, 1),
      ratio(p.gateway.cpuUsPerRequest, p.bare.cpuUsPerRequest),
      '',
    ],
    [
      `${s.streams} streams × ${s.chunks} chunks: TTFB p50 (ms)`,
      number(s.bare.round.ttfb.p50Ms, 2),
      number(s.gateway.round.ttfb.p50Ms, 2),
      added(s.gateway.round.ttfb.p50Ms, s.bare.round.ttfb.p50Ms),
      verdict(targets, 'added TTFB'),
    ],
    [
      'streams: TTFB p99 (ms)',
      number(s.bare.round.ttfb.p99Ms, 2),
      number(s.gateway.round.ttfb.p99Ms, 2),
      added(s.gateway.round.ttfb.p99Ms, s.bare.round.ttfb.p99Ms),
      '',
    ],
    [
      'streams: total time p50 (ms)',
      number(s.bare.round.total.p50Ms, 1),
      number(s.gateway.round.total.p50Ms, 1),
      added(s.gateway.round.total.p50Ms, s.bare.round.total.p50Ms, 1),
      '',
    ],
    [
      'streams: total time p99 (ms)',
      number(s.bare.round.total.p99Ms, 1),
      number(s.gateway.round.total.p99Ms, 1),
      added(s.gateway.round.total.p99Ms, s.bare.round.total.p99Ms, 1),
      '',
    ],
    [
      'streams completed with [DONE]',
      `${s.bare.round.completed}/${s.bare.round.streams}`,
      `${s.gateway.round.completed}/${s.gateway.round.streams}`,
      '',
      '',
    ],
    [
      'peak RSS under streaming (MB)',
      number(s.bare.peakRssMb, 0),
      number(s.gateway.peakRssMb, 0),
      '',
      verdict(targets, 'peak RSS'),
    ],
    [
      `${big.sizeKb} KB prompt: throughput (req/s)`,
      number(big.throughput.bare.load.requestsPerSecond, 0),
      number(big.throughput.gateway.load.requestsPerSecond, 0),
      ratio(big.throughput.gateway.load.requestsPerSecond, big.throughput.bare.load.requestsPerSecond),
      '',
    ],
    [
      `${big.sizeKb} KB prompt: CPU per request (µs)`,
      number(big.throughput.bare.cpuUsPerRequest, 0),
      number(big.throughput.gateway.cpuUsPerRequest, 0),
      ratio(big.throughput.gateway.cpuUsPerRequest, big.throughput.bare.cpuUsPerRequest),
      '',
    ],
    achievedRow(`${big.sizeKb} KB prompt: achieved rate, ${big.paced.ratePerSecond} asked`, big.paced),
    ...latencyRows(`${big.sizeKb} KB prompt at ${big.paced.ratePerSecond} req/s`, big.paced),
    [
      'peak RSS, 100 KB prompts (MB)',
      number(big.throughput.bare.peakRssMb, 0),
      number(big.throughput.gateway.peakRssMb, 0),
      '',
      '',
    ],
    [
      `start-up to ready, median of ${ready.length} (ms)`,
      '',
      number(median(ready), 0),
      `max ${number(Math.max(...ready), 0)}`,
      verdict(targets, 'start-up'),
    ],
    ['CPU used until ready, median (ms)', '', number(median(report.startup.gatewayReadyCpuMs), 0), '', ''],
  ];
}

export function renderTable(rows: Row[], style: 'text' | 'markdown'): string {
  const header: Row = ['metric', 'bare', 'gateway', 'gateway vs bare', 'target'];
  if (style === 'markdown') {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
  }
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

export function renderMinimalHop(report: BenchReport): string {
  const { minimalHop: hop, minimalHopPaced: hopPaced, throughput, paced } = report;
  const bareCpu = throughput.bare.cpuUsPerRequest;
  const over = (side: MeasuredLoad<PacedResult>, percentile: 'p50Ms' | 'p99Ms') =>
    added(side.load.latency[percentile], paced.bare.load.latency[percentile]);
  return [
    'reference, a minimal Node proxy hop (node:http + undici Pool, both bodies parsed and re-serialized, no features), 64 connections:',
    `  ${number(hop.load.requestsPerSecond, 0)} req/s (${ratio(hop.load.requestsPerSecond, throughput.bare.load.requestsPerSecond)} bare), ` +
      `${number(hop.cpuUsPerRequest, 1)} µs CPU/request (${ratio(hop.cpuUsPerRequest, bareCpu)} bare); ` +
      `the gateway: ${ratio(throughput.gateway.cpuUsPerRequest, hop.cpuUsPerRequest)} the hop's CPU per request`,
    `  at ${paced.ratePerSecond} req/s: added p50 ${over(hopPaced, 'p50Ms')} ms, p99 ${over(hopPaced, 'p99Ms')} ms ` +
      `over bare (the gateway: ${over(paced.gateway, 'p50Ms')} ms, ${over(paced.gateway, 'p99Ms')} ms)`,
  ].join('\n');
}

export function renderProcesses(report: BenchReport): string {
  const processes = report.processes;
  if (!processes) return '';
  const one = processes.one.load.requestsPerSecond;
  const many = processes.many.load.requestsPerSecond;
  return [
    `gateway processes sharing Redis, 64 connections:`,
    `  1 process:   ${number(one, 0)} req/s, ${number(processes.one.cpuUsPerRequest, 1)} µs CPU/request`,
    `  ${processes.count} processes: ${number(many, 0)} req/s (${ratio(many, one)}), ${number(processes.many.cpuUsPerRequest, 1)} µs CPU/request (all gateway processes)`,
  ].join('\n');
}

export function renderProfile(profile: ProfileSummary): string {
  const lines = [
    `CPU profile ${profile.path}`,
    `${profile.isWindowed ? 'measured load only' : 'whole process life'}: ${number(profile.busyMs, 0)} ms busy, ${number(profile.idleMs, 0)} ms idle`,
    'top self time by function:',
    ...profile.functions.map(
      (entry) =>
        `  ${number(entry.percent, 1).padStart(5)} %  ${number(entry.selfMs, 0).padStart(6)} ms  ${entry.name}  ${entry.where}`,
    ),
    "the gateway's own functions by inclusive time (self + callees):",
    ...profile.gatewayInclusive
      .slice(0, 12)
      .map(
        (entry) =>
          `  ${number(entry.percent, 1).padStart(5)} %  ${number(entry.totalMs, 0).padStart(6)} ms  ${entry.name}  ${entry.where}`,
      ),
    'self time by area:',
    ...profile.areas
      .slice(0, 12)
      .map(
        (entry) =>
          `  ${number(entry.percent, 1).padStart(5)} %  ${number(entry.selfMs, 0).padStart(6)} ms  ${entry.area}`,
      ),
  ];
  return lines.join('\n');
}

/**
 * How disturbed the run was: the most CPU that processes outside the bench took during a measured
 * phase (% of the machine), and the longest a measured main thread waited for a CPU (% of a phase).
 */
export function disturbance(report: BenchReport): {
  foreignLoadPercent: number;
  runQueueWaitPercent: number;
} {
  const phases = [
    report.throughput,
    report.paced,
    report.bigPrompt.throughput,
    report.bigPrompt.paced,
    report.streaming,
    ...(report.processes ? [{ bare: report.processes.one, gateway: report.processes.many }] : []),
  ];
  const sides = phases.flatMap((pair) => [pair.bare, pair.gateway]);
  return {
    foreignLoadPercent: Math.max(...sides.map((side) => side.foreignLoadPercent)),
    runQueueWaitPercent: Math.max(...sides.map((side) => side.runQueueWaitPercent)),
  };
}

export function writeReport(report: BenchReport, directory: string): string {
  mkdirSync(directory, { recursive: true });
  const stamp = report.meta.startedAt.replace(/[:.]/g, '-');
  const path = join(directory, `bench-${report.meta.mode}-${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
