import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summarizeProfile } from './cpu-profile.js';
import {
  allFeatures,
  defaultFeatures,
  type Feature,
  type GatewaySetup,
  prepareGateway,
  provisionTenant,
  runSetupCommand,
} from './gateway-setup.js';
import { type GatewayHandle, repoRoot, startGateway, startUpstream, type UpstreamHandle } from './launch.js';
import type { RequestSpec } from './load.js';
import { isRedisReachable, Phases, type Side } from './phases.js';
import { readMemory, resetPeakRss } from './process-stats.js';
import {
  type BenchReport,
  disturbance,
  evaluateTargets,
  renderMinimalHop,
  renderProcesses,
  renderProfile,
  renderTable,
  runMeta,
  tableRows,
  writeReport,
} from './report.js';
import { fullSettings, type Settings, scenarioFor, smokeSettings } from './scenarios.js';

const usage = `Usage: tsx bench/run.ts [options]   (npm run bench -- [options])

Measures the gateway against a bare upstream in one run, on loopback; prints a table and writes
bench/results/bench-<mode>-<time>.json. Build first (npm run build).

Options:
  --smoke                 A few hundred requests; exits 1 only if the harness breaks
  --profile               Also profile the gateway under the throughput load (--cpu-prof)
  --profile-streams       Profile it under the streaming load instead
  --profile-big           Profile it under the big-prompt throughput load instead
  --profile-paced         Profile it under the paced load (500 req/s) instead
  --processes N           Also compare 1 and N gateway processes sharing Redis
  --features LIST         Comma list of ${allFeatures.join(', ')}, "all" or "none"
                          (default ${defaultFeatures}; env BENCH_FEATURES)
  --api-key KEY           An existing key to send instead of provisioning one (env BENCH_API_KEY)
  --setup-command CMD     Shell command run once with the gateway's env before it starts; its last
                          stdout line (a token, or JSON with "key") becomes the bearer (env BENCH_SETUP_COMMAND)
  --database-url URL      Gateway database (default: a fresh SQLite file; env BENCH_DATABASE_URL)
  --gateway-config FILE   JSON merged over the generated gateway config (env BENCH_GATEWAY_CONFIG)
  --gateway-node-arg ARG  Extra node flag for the gateway, repeatable (env BENCH_GATEWAY_NODE_OPTIONS)
  --redis-url URL         For the redis feature and --processes (default redis://127.0.0.1:6379)
  --markdown              Print the table as Markdown
  --keep-workdir          Keep the temporary directory (config, gateway logs, database)
`;

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean' },
    profile: { type: 'boolean' },
    'profile-streams': { type: 'boolean' },
    'profile-big': { type: 'boolean' },
    'profile-paced': { type: 'boolean' },
    processes: { type: 'string' },
    features: { type: 'string' },
    'api-key': { type: 'string' },
    'setup-command': { type: 'string' },
    'database-url': { type: 'string' },
    'gateway-config': { type: 'string' },
    'gateway-node-arg': { type: 'string', multiple: true },
    'redis-url': { type: 'string' },
    markdown: { type: 'boolean' },
    'keep-workdir': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}

const env = process.env;
const settings: Settings = values.smoke ? smokeSettings : fullSettings;
const resultsDir = join(repoRoot, 'bench/results');
const redisUrl = values['redis-url'] ?? env.MANIAC_REDIS_URL ?? 'redis://127.0.0.1:6379';
const processCount = values.processes === undefined ? 0 : Number(values.processes);
if (
  values.processes !== undefined &&
  (!Number.isInteger(processCount) || processCount < 2 || processCount > 16)
) {
  throw new Error('--processes: expected an integer from 2 to 16');
}
const features = parseFeatures(values.features ?? env.BENCH_FEATURES ?? defaultFeatures);
const gatewayNodeArgs =
  values['gateway-node-arg'] ?? env.BENCH_GATEWAY_NODE_OPTIONS?.split(/\s+/).filter(Boolean) ?? [];
const canResetPeakRss = resetPeakRss(process.pid);

function parseFeatures(list: string): Set<Feature> {
  if (list === 'all') return new Set(allFeatures);
  if (list === 'none') return new Set();
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(allFeatures as readonly string[]).includes(name))
      throw new Error(`--features: unknown feature '${name}'`);
  }
  return new Set(names as Feature[]);
}

const runStartedAt = performance.now();
const runStartedDate = new Date();
const loadAverageAtStart = loadavg()[0] ?? 0;

function log(message: string): void {
  const seconds = ((performance.now() - runStartedAt) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[bench ${seconds}s] ${message}\n`);
}

const phases = new Phases(settings, log);
const { problems } = phases;

async function main(): Promise<number> {
  mkdirSync(resultsDir, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'maniac-bench-'));
  const upstreams: UpstreamHandle[] = [];
  const gateways: GatewayHandle[] = [];
  let gatewayCount = 0;
  const launch = async (setup: GatewaySetup, nodeArgs: string[] = gatewayNodeArgs) => {
    gatewayCount += 1;
    const gateway = await startGateway({
      setup,
      nodeArgs,
      workDir,
      instance: gatewayCount,
      timeoutMs: 15_000,
    });
    gateways.push(gateway);
    return gateway;
  };
  const stop = async (gateway: GatewayHandle) => {
    gateways.splice(gateways.indexOf(gateway), 1);
    const exit = await gateway.stop();
    if (exit.code !== 0) problems.push(`gateway ${gateway.pid} exited with ${exit.code ?? exit.signal}`);
  };
  const deadline = setTimeout(() => {
    log(`run deadline of ${settings.runDeadlineMs} ms passed; stopping`);
    process.exit(1);
  }, settings.runDeadlineMs);
  deadline.unref();

  try {
    log(`mode ${values.smoke ? 'smoke' : 'full'}; features ${[...features].join(',')}; work dir ${workDir}`);
    if (loadAverageAtStart > cpus().length / 2) {
      log(
        `warning: load average ${loadAverageAtStart.toFixed(2)} on ${cpus().length} cores; figures will be skewed`,
      );
    }
    const bare = await startUpstream('bare-upstream.ts', [], 10_000);
    upstreams.push(bare);
    const bareIdleRssMb = readMemory(bare.pid).rssMb;
    const streamer = await startUpstream(
      'stream-upstream.ts',
      ['--chunks', String(settings.streamChunks), '--interval-ms', String(settings.streamIntervalMs)],
      10_000,
    );
    upstreams.push(streamer);

    const setupOptions = {
      workDir,
      bareOrigin: bare.origin,
      streamOrigin: streamer.origin,
      redisUrl,
      databaseUrl: values['database-url'] ?? env.BENCH_DATABASE_URL,
      apiKey: values['api-key'] ?? env.BENCH_API_KEY,
      extraConfigPath: values['gateway-config'] ?? env.BENCH_GATEWAY_CONFIG,
    };
    const setup = prepareGateway({ ...setupOptions, features });
    const setupCommand = values['setup-command'] ?? env.BENCH_SETUP_COMMAND;
    if (setupCommand) await runSetupCommand(setupCommand, setup, repoRoot);

    // Start-up: spawn → /readyz 200, sampled over several fresh processes; the last one stays.
    const readyMs: number[] = [];
    const readyCpuMs: number[] = [];
    let gateway = await launch(setup);
    readyMs.push(gateway.readyMs);
    readyCpuMs.push(gateway.readyCpuMs);
    await provisionTenant(setup, gateway.origin);
    log(`sending as ${setup.bearerKind}`);
    for (let sample = 1; sample < settings.startupSamples; sample++) {
      await stop(gateway);
      gateway = await launch(setup);
      readyMs.push(gateway.readyMs);
      readyCpuMs.push(gateway.readyCpuMs);
    }
    const idleRssMb = readMemory(gateway.pid).rssMb;
    log(
      `gateway ready in ${readyMs.map((ms) => ms.toFixed(0)).join(', ')} ms ` +
        `(CPU ${readyCpuMs.map((ms) => ms.toFixed(0)).join(', ')} ms), RSS ${idleRssMb.toFixed(0)} MB`,
    );

    const direct = scenarioFor(bare.origin, streamer.origin, false, setup.bearer, settings);
    const viaGateway = scenarioFor(gateway.origin, gateway.origin, true, setup.bearer, settings);
    await phases.preflight('bare', direct);
    await phases.preflight('gateway', viaGateway);

    const bareSide: Side = { label: 'bare', pids: [bare.pid] };
    const gatewaySide: Side = { label: 'gateway', pids: [gateway.pid], upstreamPid: bare.pid };
    const closedPair = async (
      label: string,
      bareSpec: RequestSpec,
      gatewaySpec: RequestSpec,
      size: Settings['throughput'],
    ) => ({
      bare: await phases.measureClosed(bareSide, label, bareSpec, size),
      gateway: await phases.measureClosed(gatewaySide, label, gatewaySpec, size),
    });
    const pacedPair = async (
      label: string,
      bareSpec: RequestSpec,
      gatewaySpec: RequestSpec,
      rate: number,
      seconds: number,
    ) => ({
      ratePerSecond: rate,
      bare: await phases.measurePaced(bareSide, label, bareSpec, rate, seconds),
      gateway: await phases.measurePaced(gatewaySide, label, gatewaySpec, rate, seconds),
    });

    await phases.warmUp('gateway', viaGateway.plain);
    await phases.warmUp('bare', direct.plain);
    const throughput = await closedPair('throughput', direct.plain, viaGateway.plain, settings.throughput);
    // The floor under the gateway: the least a Node proxy hop does, same machine, same load.
    const hop = await startUpstream('minimal-hop.ts', ['--upstream', bare.origin], 10_000);
    upstreams.push(hop);
    const hopSpec = scenarioFor(hop.origin, streamer.origin, false, setup.bearer, settings).plain;
    await phases.warmUp('minimal hop', hopSpec);
    const minimalHop = await phases.measureClosed(
      { label: 'minimal hop', pids: [hop.pid], upstreamPid: bare.pid },
      'throughput',
      hopSpec,
      settings.throughput,
    );
    // The same hop at the paced rate: the latency any Node hop adds here, beside the gateway's.
    const minimalHopPaced = await phases.measurePaced(
      { label: 'minimal hop', pids: [hop.pid], upstreamPid: bare.pid },
      `at ${settings.pacedRate} req/s`,
      hopSpec,
      settings.pacedRate,
      settings.pacedSeconds,
    );
    await hop.stop();
    upstreams.splice(upstreams.indexOf(hop), 1);
    const paced = await pacedPair(
      `at ${settings.pacedRate} req/s`,
      direct.plain,
      viaGateway.plain,
      settings.pacedRate,
      settings.pacedSeconds,
    );
    const streaming = {
      streams: settings.streams,
      chunks: settings.streamChunks,
      intervalMs: settings.streamIntervalMs,
      bare: await phases.measureStreams({ label: 'bare', pids: [streamer.pid] }, direct),
      gateway: await phases.measureStreams(gatewaySide, viaGateway),
    };
    const bigLabel = `${settings.bigPromptKb} KB`;
    const bigPrompt = {
      sizeKb: settings.bigPromptKb,
      throughput: await closedPair(bigLabel, direct.big, viaGateway.big, settings.bigThroughput),
      paced: await pacedPair(
        `${bigLabel} at ${settings.bigPacedRate} req/s`,
        direct.big,
        viaGateway.big,
        settings.bigPacedRate,
        settings.bigPacedSeconds,
      ),
    };
    await stop(gateway);

    let processes: BenchReport['processes'];
    if (processCount >= 2) {
      if (!(await isRedisReachable(redisUrl))) log(`warning: Redis at ${redisUrl} is not reachable`);
      const shared = prepareGateway({
        ...setupOptions,
        secrets: { internalKey: setup.internalKey, adminToken: setup.adminToken },
        features: new Set([...features, 'redis']),
      });
      shared.bearer = setup.bearer;
      shared.bearerKind = setup.bearerKind;
      const measureGroup = async (count: number) => {
        const group: GatewayHandle[] = [];
        for (let index = 0; index < count; index++) group.push(await launch(shared));
        const spec: RequestSpec = {
          ...scenarioFor(gateway.origin, gateway.origin, true, shared.bearer, settings).plain,
          urls: group.map((member) => `${member.origin}/v1/chat/completions`),
        };
        const side: Side = {
          label: `${count} gateway process${count === 1 ? '' : 'es'}`,
          pids: group.map((member) => member.pid),
          upstreamPid: bare.pid,
        };
        await phases.warmUp(side.label, spec);
        const measured = await phases.measureClosed(side, 'throughput', spec, settings.throughput);
        for (const member of group) await stop(member);
        return measured;
      };
      processes = { count: processCount, one: await measureGroup(1), many: await measureGroup(processCount) };
    }

    let profile: BenchReport['profile'];
    let threadProfiles: BenchReport['threadProfiles'];
    if (values.profile || values['profile-streams'] || values['profile-big'] || values['profile-paced']) {
      // One file per thread (Node names them …<pid>.<thread id>.<seq>.cpuprofile): the main thread
      // is thread 0, the SQLite writer thread another.
      const profileDir = join(resultsDir, `gateway-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      // At 500 req/s the question is which tasks hold the event loop for milliseconds: sample every 100 µs.
      const interval = values['profile-paced'] ? ['--cpu-prof-interval', '100'] : [];
      const profiled = await launch(setup, [
        ...gatewayNodeArgs,
        '--cpu-prof',
        ...interval,
        '--cpu-prof-dir',
        profileDir,
      ]);
      const scenario = scenarioFor(profiled.origin, profiled.origin, true, setup.bearer, settings);
      const side: Side = { label: 'gateway', pids: [profiled.pid], upstreamPid: bare.pid };
      await phases.warmUp('profiled gateway', scenario.plain);
      // Only the samples of the measured load count: start-up and warm-up are left out.
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      if (values['profile-streams']) {
        await phases.measureStreams({ ...side, label: 'gateway under --cpu-prof' }, scenario);
      } else if (values['profile-paced']) {
        await phases.measurePaced(
          side,
          `at ${settings.pacedRate} req/s under --cpu-prof`,
          scenario.plain,
          settings.pacedRate,
          settings.pacedSeconds,
        );
      } else if (values['profile-big']) {
        await phases.measureClosed(
          side,
          'big prompts under --cpu-prof',
          scenario.big,
          settings.bigThroughput,
        );
      } else {
        await phases.measureClosed(side, 'throughput under --cpu-prof', scenario.plain, settings.throughput);
      }
      const toUs = Number(process.hrtime.bigint() / 1000n);
      await stop(profiled);
      const files = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
      const threadOf = (name: string) => Number(/\.(\d+)\.\d+\.cpuprofile$/.exec(name)?.[1] ?? -1);
      const main = files.find((name) => threadOf(name) === 0);
      if (main) profile = summarizeProfile(join(profileDir, main), repoRoot, 20, { fromUs, toUs });
      threadProfiles = files
        .filter((name) => threadOf(name) > 0)
        .map((name) => summarizeProfile(join(profileDir, name), repoRoot, 12, { fromUs, toUs }));
    }

    const meta = runMeta(
      {
        mode: values.smoke ? 'smoke' : 'full',
        features: [...features],
        bearer: setup.bearerKind,
        gatewayNodeArgs,
        settings: {
          connections: settings.connections,
          pacedConnections: settings.pacedConnections,
          streamIntervalMs: settings.streamIntervalMs,
          streamRampMs: settings.streamRampMs,
        },
        isPeakRssPerPhase: canResetPeakRss,
      },
      runStartedDate,
      loadAverageAtStart,
    );
    const partial = {
      meta,
      startup: {
        gatewayReadyMs: readyMs,
        gatewayReadyCpuMs: readyCpuMs,
        gatewayIdleRssMb: idleRssMb,
        bareIdleRssMb,
      },
      throughput,
      minimalHop,
      minimalHopPaced,
      paced,
      bigPrompt,
      streaming,
      processes,
      profile,
      threadProfiles,
      problems,
    };
    const report: BenchReport = { ...partial, targets: evaluateTargets(partial) };
    const path = writeReport(report, resultsDir);
    const skew = disturbance(report);
    const isSkewed = skew.runQueueWaitPercent >= 5 || skew.foreignLoadPercent >= 5;
    const out: string[] = [
      '',
      `Maniac Gateway bench (${meta.mode}): ${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memoryGb} GB, Linux ${meta.machine.kernel}, Node ${meta.machine.node}`,
      `commit ${meta.commit}${meta.hasUncommittedChanges ? ' (with uncommitted changes)' : ''}; features ${meta.features.join(',')}; bearer ${meta.bearer}`,
      `machine: load average ${loadAverageAtStart.toFixed(2)} at start; during measured phases, other processes took up to ` +
        `${skew.foreignLoadPercent.toFixed(0)} % of it and a measured main thread waited for a CPU up to ` +
        `${skew.runQueueWaitPercent.toFixed(0)} % of the time` +
        (isSkewed ? ' (figures skewed: rerun on an idle machine)' : ''),
      '',
      renderTable(tableRows(report), values.markdown ? 'markdown' : 'text'),
    ];
    out.push('', renderMinimalHop(report));
    if (processes) out.push('', renderProcesses(report));
    if (profile) out.push('', renderProfile(profile));
    for (const thread of threadProfiles ?? []) out.push('', `another thread: ${renderProfile(thread)}`);
    out.push('', `results: ${path}`);
    if (problems.length > 0)
      out.push('', 'HARNESS PROBLEMS (exit 1):', ...problems.map((problem) => `  - ${problem}`));
    process.stdout.write(`${out.join('\n')}\n`);
    return problems.length > 0 ? 1 : 0;
  } finally {
    for (const gateway of [...gateways]) await gateway.stop();
    for (const upstream of upstreams) await upstream.stop();
    if (values['keep-workdir']) log(`work dir kept: ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

process.once('SIGINT', () => process.exit(130));
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[bench] failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
