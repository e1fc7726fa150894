import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#src/config/config.js';

function file(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'maniac-config-')), name);
  writeFileSync(path, content);
  return path;
}

describe('loadConfig (SPEC §13.1)', () => {
  it('runs on documented defaults with no file', () => {
    const config = loadConfig({ env: {} });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8080, maxBodyBytes: 20 * 1024 * 1024 });
    expect(config.timeouts).toEqual({
      connectMs: 10_000,
      firstByteMs: 300_000,
      idleMs: 120_000,
      totalMs: 600_000,
    });
    expect(config.storage.databaseUrl).toBe('sqlite:./data/maniac.db');
    expect(config.providers.map((provider) => [provider.name, provider.type])).toEqual([
      ['openai', 'openai'],
      ['anthropic', 'anthropic'],
      ['google', 'gemini'],
      ['openrouter', 'openrouter'],
    ]);
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('accepts the documented JSON provider shape and YAML alike', () => {
    const json = file(
      'config.json',
      JSON.stringify({
        providers: {
          local: {
            type: 'openai-compatible',
            baseUrl: 'http://127.0.0.1:18090/v1',
            apiKeyEnv: 'LOCAL_KEY',
            models: ['echo', 'tools'],
          },
        },
      }),
    );
    const yaml = file(
      'config.yaml',
      'providers:\n  local:\n    type: openai-compatible\n    baseUrl: http://127.0.0.1:18090/v1\n    apiKeyEnv: LOCAL_KEY\n    models: [echo, tools]\n',
    );
    for (const path of [json, yaml]) {
      const local = loadConfig({ configPath: path, env: { LOCAL_KEY: 'secret' } }).providers.find(
        (provider) => provider.name === 'local',
      );
      expect(local).toMatchObject({
        type: 'openai-compatible',
        baseUrl: 'http://127.0.0.1:18090/v1',
        apiKey: 'secret',
        models: ['echo', 'tools'],
      });
    }
  });

  it('reads provider keys and base URLs from the environment, env over file', () => {
    const path = file(
      'c.json',
      JSON.stringify({ providers: { openai: { type: 'openai', baseUrl: 'https://proxy.example/v1' } } }),
    );
    const fromFile = loadConfig({ configPath: path, env: { OPENAI_API_KEY: 'sk-1' } });
    expect(fromFile.providers[0]).toMatchObject({ baseUrl: 'https://proxy.example/v1', apiKey: 'sk-1' });
    const fromEnv = loadConfig({
      configPath: path,
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:1/v1/', OPENROUTER_API_KEY: 'or' },
    });
    expect(fromEnv.providers[0]?.baseUrl).toBe('http://127.0.0.1:1/v1');
    expect(fromEnv.providers[0]?.apiKey).toBeUndefined();
    expect(fromEnv.providers[3]?.apiKey).toBe('or');
    expect(loadConfig({ env: { GOOGLE_API_KEY: 'g' } }).providers[2]?.apiKey).toBe('g');
  });

  it('applies MANIAC_* overrides and flags over them', () => {
    const env = {
      MANIAC_HOST: '127.0.0.1',
      MANIAC_PORT: '9000',
      MANIAC_DATABASE_URL: 'postgres://db/x',
      MANIAC_LOG_LEVEL: 'warn',
    };
    const config = loadConfig({ env });
    expect([
      config.server.host,
      config.server.port,
      config.storage.databaseUrl,
      config.telemetry.logLevel,
    ]).toEqual(['127.0.0.1', 9000, 'postgres://db/x', 'warn']);
    expect(loadConfig({ env, overrides: { port: 7000 } }).server.port).toBe(7000);
  });

  it('interpolates environment references and names a missing variable', () => {
    const path = file('c.json', JSON.stringify({ server: { host: ['$', '{BIND}'].join('') } }));
    expect(loadConfig({ configPath: path, env: { BIND: '::1' } }).server.host).toBe('::1');
    expect(() => loadConfig({ configPath: path, env: {} })).toThrow(
      'config: server.host: environment variable BIND is not set',
    );
  });

  it('fails naming the bad field', () => {
    const cases: [unknown, string][] = [
      [{ server: { port: 'eighty' } }, 'config: server.port: must be integer'],
      [{ server: { colour: 'red' } }, 'config: server.colour: must NOT have additional properties'],
      [
        { providers: { local: { type: 'openai-compatible', baseUrl: 'ftp://x' } } },
        'config: providers.local.baseUrl',
      ],
      [{ providers: { maniac: { type: 'openai-compatible', baseUrl: 'http://x' } } }, 'config: providers'],
      [{ providers: { local: { type: 'openai-compatible' } } }, 'config: providers.local.baseUrl: required'],
      [{ models: [{ id: 'no-namespace' }] }, 'config: models[0].id'],
    ];
    for (const [content, message] of cases) {
      const path = file('bad.json', JSON.stringify(content));
      expect(() => loadConfig({ configPath: path, env: {} }), message).toThrow(ConfigError);
      expect(() => loadConfig({ configPath: path, env: {} })).toThrow(message);
    }
  });

  it('refuses a short internal key and a missing explicit file', () => {
    expect(() => loadConfig({ env: { MANIAC_INTERNAL_KEY: 'short' } })).toThrow(
      'MANIAC_INTERNAL_KEY: must be at least 32 characters',
    );
    expect(() => loadConfig({ configPath: '/nonexistent/maniac.yaml', env: {} })).toThrow(
      'config: file not found',
    );
  });

  it('marks an openai-compatible provider without key settings as keyless', () => {
    const path = file(
      'c.json',
      JSON.stringify({
        providers: { ollama: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1' } },
      }),
    );
    const ollama = loadConfig({ configPath: path, env: {} }).providers.find(
      (provider) => provider.name === 'ollama',
    );
    expect(ollama).toMatchObject({ isKeyless: true, apiKey: undefined });
  });
});
