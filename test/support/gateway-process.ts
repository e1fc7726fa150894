import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh PostgreSQL schema, reachable through a URL whose search_path points at it. */
export async function createTestSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `mgw_it_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const separator = testDatabaseUrl.includes('?') ? '&' : '?';
  return {
    url: `${testDatabaseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    async drop() {
      const client = new pg.Client({ connectionString: testDatabaseUrl });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the built `maniac-gateway serve` on an ephemeral port and waits until it listens. */
export async function startGatewayProcess(options: {
  config: Record<string, unknown>;
  env: Record<string, string>;
}): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'maniac-proc-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ storage: { spoolDir: join(dir, 'spool') }, ...options.config }));
  const child = spawn(
    process.execPath,
    ['bin/maniac-gateway.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--config', configPath],
    {
      env: { ...process.env, MANIAC_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  while (!/listening on (http:\/\/\S+)/.test(stderr)) {
    const outcome = await Promise.race([
      once(child.stderr as NodeJS.ReadableStream, 'data'),
      exited.then(() => 'exit'),
    ]);
    if (outcome === 'exit') throw new Error(`gateway exited before listening:\n${stderr}`);
  }
  const url = (stderr.match(/listening on (http:\/\/\S+)/) as RegExpMatchArray)[1] as string;
  return {
    url,
    child,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
  };
}
