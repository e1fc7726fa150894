import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { GatewaySetup } from './gateway-setup.js';
import { readCpuMs } from './process-stats.js';

/** Starts and stops the processes of a bench run: the bench upstreams and gateways, loopback only. */

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(repoRoot, 'bench');
const readyPollIntervalMs = 5;
const stopTimeoutMs = 15_000;

const running = new Set<ChildProcess>();
// A harness that dies for any reason takes its children with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The harness and every child it runs, for telling the bench's own CPU from the rest of the machine. */
export function benchPids(): number[] {
  return [process.pid, ...[...running].map((child) => child.pid).filter((pid) => pid !== undefined)];
}

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

async function stopChild(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return { code: child.exitCode, signal: child.signalCode };
  }
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
  const [code, signal] = await exited;
  clearTimeout(timer);
  return { code, signal };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

export interface UpstreamHandle {
  pid: number;
  origin: string;
  stop(): Promise<void>;
}

/** Runs `bench/<script>` under tsx and waits for the `{"port":N}` line it prints once listening. */
export async function startUpstream(
  script: string,
  args: string[],
  timeoutMs: number,
): Promise<UpstreamHandle> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(benchDir, script), ...args], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  track(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const firstLine = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script}: not listening after ${timeoutMs} ms`)),
      timeoutMs,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script}: exited with ${code} before listening`));
    });
  });
  const { port } = JSON.parse(await firstLine) as { port: number };
  return {
    pid: child.pid as number,
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.stdin?.end();
      await stopChild(child);
    },
  };
}

export interface GatewayHandle {
  pid: number;
  origin: string;
  /** Spawn to the first `GET /readyz` answered 200. */
  readyMs: number;
  /** CPU the process used until then: start-up cost that a busy machine does not inflate much. */
  readyCpuMs: number;
  stop(): Promise<{ code: number | null; signal: string | null }>;
}

export interface GatewayStartOptions {
  setup: GatewaySetup;
  /** Extra node flags, such as `--cpu-prof`. */
  nodeArgs: string[];
  /** Holds this instance's config, spool (one per process) and log (stdout: the request lines). */
  workDir: string;
  instance: number;
  timeoutMs: number;
}

/** Spawns the built gateway (`bin/maniac-gateway.js serve`) and polls /readyz until it answers 200. */
export async function startGateway(options: GatewayStartOptions): Promise<GatewayHandle> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const { setup, workDir, instance } = options;
  const configPath = join(workDir, `gateway-${instance}.json`);
  // Each process needs its own spool directory (docs/decisions/0007-batched-telemetry.md).
  const storage = {
    ...(setup.config.storage as object | undefined),
    spoolDir: join(workDir, `spool-${instance}`),
  };
  const config = { ...setup.config, storage };
  writeFileSync(configPath, JSON.stringify(config));
  const logPath = join(workDir, `gateway-${instance}.log`);
  const log = openSync(logPath, 'a');
  const startedAt = performance.now();
  const child = spawn(
    process.execPath,
    [
      ...options.nodeArgs,
      join(repoRoot, 'bin/maniac-gateway.js'),
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--config',
      configPath,
    ],
    { cwd: repoRoot, stdio: ['ignore', log, log], env: { ...process.env, ...setup.env } },
  );
  closeSync(log);
  track(child);
  const deadline = startedAt + options.timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `gateway exited (${child.exitCode ?? child.signalCode}) before ready:\n${logTail(logPath)}`,
      );
    }
    if (await isReady(origin)) {
      const readyMs = performance.now() - startedAt;
      return {
        pid: child.pid as number,
        origin,
        readyMs,
        readyCpuMs: readCpuMs(child.pid as number),
        stop: () => stopChild(child),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, readyPollIntervalMs));
  }
  await stopChild(child);
  throw new Error(`gateway not ready after ${options.timeoutMs} ms:\n${logTail(logPath)}`);
}

function logTail(path: string): string {
  const text = readFileSync(path, 'utf8');
  return text.slice(-2000).trimEnd();
}

async function isReady(origin: string): Promise<boolean> {
  try {
    const response = await request(`${origin}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}
