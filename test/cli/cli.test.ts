import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '#src/cli/cli.js';
import { FakeUpstream } from '#src/fake-upstream/fake-upstream.js';

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { code, out, err };
}

describe('maniac-gateway CLI', () => {
  it('prints help for every command and the version', async () => {
    const main = await run(['--help']);
    expect(main.code).toBe(0);
    for (const command of ['serve', 'config check', 'models list', 'openapi', 'fake-upstream'])
      expect(main.out).toContain(command);
    for (const argv of [
      ['serve', '--help'],
      ['config', '--help'],
      ['models', '--help'],
      ['openapi', '--help'],
      ['fake-upstream', '--help'],
    ]) {
      const result = await run(argv);
      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.out).toMatch(/^Usage: maniac-gateway/);
    }
    const version = await run(['--version']);
    expect(version.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('config check names a bad field and exits non-zero', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'maniac-cli-')), 'bad.json');
    writeFileSync(path, JSON.stringify({ timeouts: { idleMs: -1 } }));
    const result = await run(['config', 'check', '--config', path]);
    expect(result.code).toBe(1);
    expect(result.err).toBe('maniac-gateway: config: timeouts.idleMs: must be >= 1\n');
    const good = await run(['config', 'check', '--json']);
    expect(JSON.parse(good.out)).toMatchObject({ ok: true });
  });

  it('lists models and prints the OpenAPI document', async () => {
    const models = await run(['models', 'list', '--json']);
    expect(
      JSON.parse(models.out).data.some((model: { id: string }) => model.id === 'openai/gpt-4o-mini'),
    ).toBe(true);
    expect(JSON.parse((await run(['openapi'])).out).openapi).toBe('3.1.0');
  });

  it('migrate applies every migration once', async () => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'maniac-migrate-')), 'db.sqlite')}`;
    const first = await run(['migrate', '--database-url', url, '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out).applied).toContain('0001-tenancy');
    const second = await run(['migrate', '--database-url', url, '--json']);
    expect(JSON.parse(second.out)).toEqual({ applied: [] });
  });

  it('rejects an unknown command', async () => {
    const result = await run(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.err).toContain("unknown command 'frobnicate'");
  });

  it('serve starts the built binary with flags, prints how to make a first call, and exits 0 on SIGTERM', async () => {
    const fake = await FakeUpstream.start();
    const dir = mkdtempSync(join(tmpdir(), 'maniac-serve-'));
    const configPath = join(dir, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        providers: {
          local: { type: 'openai-compatible', baseUrl: fake.url, apiKeyEnv: 'LOCAL_KEY', models: ['echo'] },
        },
      }),
    );
    const key = 'cli-test-internal-key-0123456789abcdef';
    const child = spawn(
      process.execPath,
      ['bin/maniac-gateway.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--config', configPath],
      {
        env: {
          ...process.env,
          MANIAC_INTERNAL_KEY: key,
          LOCAL_KEY: 'k',
          MANIAC_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = once(child, 'exit');
    try {
      while (!/listening on (http:\/\/\S+)/.test(stderr)) {
        await Promise.race([
          once(child.stderr, 'data'),
          exited.then(() => {
            throw new Error(`serve exited before listening:\n${stderr}`);
          }),
        ]);
      }
      const url = (stderr.match(/listening on (http:\/\/\S+)/) as RegExpMatchArray)[1];
      expect(stderr).toContain('curl');
      expect(stderr).toContain('/v1/chat/completions');
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'local:echo', messages: [{ role: 'user', content: 'from the cli' }] }),
      });
      expect(response.status).toBe(200);
      expect(
        ((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message
          .content,
      ).toBe('Echo: from the cli');
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      // A failed assertion must not leave the gateway running (it would hold the spool directory).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await fake.close();
    }
  });
});
