import { Writable } from 'node:stream';
import { type App, type AppDeps, buildApp } from '#src/app.js';
import { type Config, loadConfig } from '#src/config/config.js';
import { allFakeFormats } from '#src/fake-upstream/all-formats.js';
import { FakeUpstream, type FakeUpstreamOptions } from '#src/fake-upstream/fake-upstream.js';
import type { FinishedRequest } from '#src/http/server.js';
import { createStore } from '#src/store/create-store.js';
import type { Store } from '#src/store/repositories.js';
import { createLogger } from '#src/telemetry/logger.js';

export const internalKey = 'test-internal-key-0123456789abcdef0123';

/** Config value interpolated to the fake upstream's `/v1` URL by the test gateway. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a config-file ${ENV} reference, not a template.
export const fakeUrl = '${FAKE_URL}';

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
  /** Wraps the store the gateway uses (to make parts of it fail). */
  wrapStore?(store: Store): Store;
  clock?: AppDeps['clock'];
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
    storage: { spoolDir: join(dir, 'spool') },
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
      FAKE_URL: fake.url,
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
  const store = options.wrapStore
    ? options.wrapStore(await createStore(config.storage.databaseUrl))
    : undefined;
  const app = await buildApp({
    config,
    ...(store ? { store } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
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
      await store?.close();
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

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** POSTs JSON to the gateway with the internal key (unless headers override it). */
export async function postJson<T = Record<string, unknown>>(
  gateway: TestGateway,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { ...gateway.headers, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** The body the fake upstream received for the last request. */
export function lastUpstreamBody(gateway: TestGateway): Record<string, unknown> {
  const last = gateway.fake.requests.at(-1);
  if (!last) throw new Error('the fake upstream received no request');
  return last.body;
}

/** Sends a streaming chat request and returns the raw response for incremental reading. */
export async function openStream(gateway: TestGateway, body: Record<string, unknown>, signal?: AbortSignal) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: gateway.headers,
    body: JSON.stringify({ stream: true, ...body }),
    signal,
  });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  return {
    response,
    /** Reads until `predicate(text so far)` holds; returns all text read so far. */
    async readUntil(predicate: (text: string) => boolean): Promise<string> {
      while (!predicate(buffered)) {
        const next = await reader?.read();
        if (!next || next.done) break;
        buffered += decoder.decode(next.value, { stream: true });
      }
      return buffered;
    },
    async readAll(): Promise<string> {
      for (;;) {
        const next = await reader?.read();
        if (!next || next.done) return buffered;
        buffered += decoder.decode(next.value, { stream: true });
      }
    },
    cancel: () => reader?.cancel(),
  };
}
