import { Writable } from 'node:stream';
import { type App, type AppDeps, buildApp } from '#src/app.js';
import { type Config, loadConfig } from '#src/config/config.js';
import { allFakeFormats } from '#src/fake-upstream/all-formats.js';
import { FakeUpstream, type FakeUpstreamOptions } from '#src/fake-upstream/fake-upstream.js';
import type { FinishedRequest } from '#src/http/server.js';
import { createLogger } from '#src/telemetry/logger.js';

export const internalKey = 'test-internal-key-0123456789abcdef0123';

export interface TestGateway {
  app: App;
  url: string;
  fake: FakeUpstream;
  config: Config;
  logLines: string[];
  finished: FinishedRequest[];
  /** Headers with the internal key. */
  headers: Record<string, string>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Config file content (JSON); `local` provider pointing at the fake is added unless given. */
  file?: Record<string, unknown>;
  env?: Record<string, string>;
  fake?: FakeUpstreamOptions;
  /** Reuse a running fake upstream. */
  upstream?: FakeUpstream;
  /** Provider translations (defaults to the registry). */
  providers?: AppDeps['providers'];
}

/**
 * A gateway on an ephemeral port in this process, with the fake upstream declared as provider
 * `local` (models `echo`, `tools`, every transcript and fault by name) and as the OpenAI and
 * OpenRouter base URL. Log output is captured for assertions.
 */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const fake = options.upstream ?? (await FakeUpstream.start({ formats: allFakeFormats, ...options.fake }));
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'maniac-test-'));
  const file = {
    providers: {
      local: {
        type: 'openai-compatible',
        baseUrl: fake.url,
        apiKeyEnv: 'LOCAL_KEY',
        models: ['echo', 'tools', 'text', 'reasoning'],
      },
    },
    ...options.file,
  };
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(file));
  const config = loadConfig({
    configPath,
    env: {
      MANIAC_INTERNAL_KEY: internalKey,
      LOCAL_KEY: 'local-provider-secret-key',
      OPENAI_API_KEY: 'sk-openai-provider-secret',
      OPENAI_BASE_URL: fake.url,
      OPENROUTER_API_KEY: 'sk-or-provider-secret',
      OPENROUTER_BASE_URL: fake.url,
      ANTHROPIC_API_KEY: 'sk-ant-provider-secret',
      ANTHROPIC_BASE_URL: fake.origin,
      GEMINI_API_KEY: 'gemini-provider-secret',
      GEMINI_BASE_URL: fake.origin,
      MANIAC_DATABASE_URL: `sqlite:${join(dir, 'maniac.db')}`,
      ...options.env,
    },
    overrides: { host: '127.0.0.1', port: 0 },
  });
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  const finished: FinishedRequest[] = [];
  const app = buildApp({
    config,
    logger: createLogger('info', destination),
    providers: options.providers,
    onRequestFinished: (request) => finished.push(request),
  });
  await app.start();
  const { url } = await app.listen();
  return {
    app,
    url,
    fake,
    config,
    logLines,
    finished,
    headers: { authorization: `Bearer ${internalKey}`, 'content-type': 'application/json' },
    async close() {
      await app.close();
      if (!options.upstream) await fake.close();
    },
  };
}

/** Reads an SSE response body into its `data:` payloads and comment lines, in order. */
export function parseSse(text: string): { data: string[]; comments: string[] } {
  const data: string[] = [];
  const comments: string[] = [];
  for (const block of text.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith(':')) comments.push(line);
    }
  }
  return { data, comments };
}
