import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allFakeFormats } from '#src/fake-upstream/all-formats.js';
import { FakeUpstream } from '#src/fake-upstream/fake-upstream.js';
import { fakeUrl, internalKey, parseSse, startTestGateway, type TestGateway } from '../support/gateway.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { assertOpenAiSchema } from '../support/openai-schema.js';

/**
 * Issue point 2: every upstream fault, plain and streamed. Each case checks the exact answer (SPEC
 * §9.2, §9.4, §9.5), whether it falls back (§5.4), that nothing hangs, that the gateway leaves no
 * connection open to the upstream, and that the next request is served.
 */

/** What the client must see for one fault in one mode. */
type Expected =
  /** A JSON error before any byte of the answer; `fallsBack`: a fallback candidate then serves. */
  | { kind: 'json'; status: number; code: string; fallsBack: boolean }
  /** A 200 stream that ends in an in-band error frame and `[DONE]`; never falls back. */
  | { kind: 'in-band'; code: string };

interface Fault {
  name: string;
  model: string;
  plain: Expected;
  stream: Expected;
}

const unreachable = { kind: 'json', status: 502, code: 'upstream_unreachable', fallsBack: true } as const;
const timedOut = { kind: 'json', status: 502, code: 'upstream_timeout', fallsBack: true } as const;
const invalid = { kind: 'json', status: 502, code: 'upstream_invalid_response', fallsBack: true } as const;

const faults: Fault[] = [
  { name: 'refused connection', model: 'refused/echo', plain: unreachable, stream: unreachable },
  {
    name: 'reset before the headers',
    model: 'local/reset-before-headers',
    plain: unreachable,
    stream: unreachable,
  },
  {
    name: 'reset mid-body / mid-stream',
    model: 'local/reset-mid-stream',
    plain: unreachable,
    stream: { kind: 'in-band', code: 'upstream_error' },
  },
  { name: 'stall before the first byte', model: 'local/stall', plain: timedOut, stream: timedOut },
  {
    name: 'stall mid-body / mid-stream',
    model: 'local/stall-mid-stream',
    plain: timedOut,
    stream: { kind: 'in-band', code: 'upstream_timeout' },
  },
  { name: 'malformed JSON', model: 'local/malformed-json', plain: invalid, stream: invalid },
  {
    name: 'malformed SSE',
    model: 'local/malformed-sse',
    plain: invalid,
    stream: { kind: 'in-band', code: 'upstream_invalid_response' },
  },
  { name: 'wrong content type', model: 'local/wrong-content-type', plain: invalid, stream: invalid },
  { name: 'oversized response', model: 'local/oversized', plain: invalid, stream: invalid },
];

type Mode = 'plain' | 'streamed';

/** A request still unanswered after this long counts as hung (the upstream timeouts below are 250 ms). */
const hangMs = 5_000;
const faultTimeouts = { firstByteMs: 250, idleMs: 250 };
const maxResponseBytes = 1024 * 1024;

const localScenarios = faults
  .filter((fault) => fault.model.startsWith('local/'))
  .map((fault) => fault.model.slice('local/'.length));

let gateway: TestGateway;
/** A port that was just bound and released: connecting to it is refused. */
let closedPort: number;

beforeAll(async () => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  closedPort = (probe.address() as { port: number }).port;
  probe.close();
  await once(probe, 'close');
  gateway = await startTestGateway({
    fake: { oversizedBytes: 2 * maxResponseBytes },
    file: {
      server: { maxResponseBytes },
      providers: {
        local: {
          type: 'openai-compatible',
          baseUrl: fakeUrl,
          apiKeyEnv: 'LOCAL_KEY',
          models: ['echo', ...localScenarios],
          timeouts: faultTimeouts,
        },
        refused: {
          type: 'openai-compatible',
          baseUrl: `http://127.0.0.1:${closedPort}/v1`,
          apiKey: 'refused-provider-key',
          models: ['echo'],
          timeouts: faultTimeouts,
        },
      },
    },
  });
});

afterAll(async () => gateway?.close());

beforeEach(() => {
  gateway.fake.reset();
  gateway.finished.length = 0;
});

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  text: string;
}

async function send(model: string, isStream: boolean, fallbacks: string[] = []): Promise<Answer> {
  const body = {
    model,
    ...(fallbacks.length > 0 ? { models: fallbacks } : {}),
    stream: isStream,
    messages: [{ role: 'user', content: 'ping' }],
  };
  try {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: gateway.headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(hangMs),
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      headers: response.headers,
      text,
    };
  } catch (error) {
    throw new Error(`${model} (stream: ${isStream}) hung or broke the connection: ${String(error)}`);
  }
}

/** Waits (bounded) until the gateway recorded `count` finished requests: one event each. */
async function finishedRequests(count: number) {
  for (let turn = 0; turn < 1_000 && gateway.finished.length < count; turn++) await nextTurn();
  return gateway.finished;
}

async function streamsInFlight(): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return Number(/^maniac_streams_in_flight (\S+)$/m.exec(text)?.[1]);
}

function expectJsonError(answer: Answer, status: number, code: string) {
  expect(answer.status, answer.text.slice(0, 300)).toBe(status);
  expect(answer.contentType).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text);
  assertOpenAiSchema('ErrorResponse', body);
  expect(body.error.code).toBe(code);
  expect(answer.text).not.toContain('127.0.0.1');
}

function expectInBandError(answer: Answer, code: string) {
  expect(answer.status).toBe(200);
  expect(answer.contentType).toMatch(/^text\/event-stream/);
  const { data } = parseSse(answer.text);
  expect(data.at(-1)).toBe('[DONE]');
  const error = JSON.parse(data.at(-2) as string);
  assertOpenAiSchema('ErrorResponse', error);
  expect(error.error.code).toBe(code);
  const chunks = data.slice(0, -2).map((item) => JSON.parse(item));
  expect(chunks.length).toBeGreaterThan(0);
  for (const chunk of chunks) {
    assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
    expect(chunk.choices[0]?.finish_reason ?? null).toBeNull();
  }
}

function expectServed(answer: Answer, isStream: boolean) {
  expect(answer.status, answer.text.slice(0, 300)).toBe(200);
  if (!isStream) {
    assertOpenAiSchema('CreateChatCompletionResponse', JSON.parse(answer.text));
    return;
  }
  const { data } = parseSse(answer.text);
  expect(data.at(-1)).toBe('[DONE]');
  for (const item of data.slice(0, -1)) {
    const chunk = JSON.parse(item);
    expect(chunk.error).toBeUndefined();
    assertOpenAiSchema('CreateChatCompletionStreamResponse', chunk);
  }
}

async function checkFault(fault: Fault, mode: Mode): Promise<void> {
  const isStream = mode === 'streamed';
  const expected = isStream ? fault.stream : fault.plain;
  const finishedBefore = gateway.finished.length;

  const alone = await send(fault.model, isStream);
  if (expected.kind === 'json') expectJsonError(alone, expected.status, expected.code);
  else expectInBandError(alone, expected.code);

  // With a fallback candidate: served by it exactly when SPEC §5.4 allows, never after the first byte.
  gateway.fake.reset();
  const withFallback = await send(fault.model, isStream, ['local/echo']);
  const upstreamCalls = gateway.fake.requests.map((request) => request.model);
  if (expected.kind === 'json' && expected.fallsBack) {
    expectServed(withFallback, isStream);
    expect(withFallback.headers.get('x-maniac-model')).toBe('local/echo');
    expect(withFallback.headers.get('x-maniac-attempts')).toBe('2');
    expect(upstreamCalls.at(-1)).toBe('echo');
  } else if (expected.kind === 'json') {
    expectJsonError(withFallback, expected.status, expected.code);
    expect(upstreamCalls).not.toContain('echo');
  } else {
    expectInBandError(withFallback, expected.code);
    expect(upstreamCalls).not.toContain('echo');
  }

  // Exactly one finished request (one telemetry event) per request, with the error recorded; a
  // stream broken after its first event counts as a successful attempt.
  const finished = (await finishedRequests(finishedBefore + 2)).slice(finishedBefore);
  expect(finished).toHaveLength(2);
  expect(finished[0]?.record.errorCode, `${mode}: error code recorded`).toBe(expected.code);
  expect(finished[0]?.record.attempts.map((attempt) => attempt.error_code)).toEqual([
    expected.kind === 'json' ? expected.code : null,
  ]);

  // The next request is served. No upstream answer is left half-read, and connections do not pile
  // up: a leak would leave one per faulty request (three here); the pool may keep two idle ones (a
  // fallback can open a second connection while the failed one is being released).
  expectServed(await send('local/echo', isStream), isStream);
  expect(await gateway.fake.whenOpenResponsesAtMost(0, 2_000), `${mode}: an upstream answer still open`).toBe(
    true,
  );
  expect(
    await gateway.fake.whenOpenSocketsAtMost(2, 2_000),
    `${mode}: upstream connections still open: ${gateway.fake.openSockets}`,
  ).toBe(true);
  expect(await streamsInFlight()).toBe(0);
}

describe('upstream faults (issue point 2; SPEC §5.4, §9, §13.4)', () => {
  for (const fault of faults) {
    for (const mode of ['plain', 'streamed'] as const) {
      it(`${fault.name} (${mode})`, () => checkFault(fault, mode));
    }
  }

  it('a burst of faults in parallel leaves no connection behind and the gateway healthy', async () => {
    const cases = faults.flatMap((fault) =>
      (['plain', 'streamed'] as const).map((mode) => ({ model: fault.model, isStream: mode === 'streamed' })),
    );
    const answers = await Promise.all(
      cases.flatMap(({ model, isStream }) => [send(model, isStream), send(model, isStream)]),
    );
    for (const answer of answers) expect([200, 502]).toContain(answer.status);
    expectServed(await send('local/echo', false), false);
    expectServed(await send('local/echo', true), true);
    // Parallel successes leave idle keep-alive connections behind; no answer may stay in progress.
    expect(
      await gateway.fake.whenOpenResponsesAtMost(0, 2_000),
      `answers in progress: ${gateway.fake.openResponses}`,
    ).toBe(true);
    expect(await streamsInFlight()).toBe(0);
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});

describe('no upstream fault takes the gateway process down', () => {
  let fake: FakeUpstream;
  let dataDir: string;
  let process: GatewayProcess | undefined;

  /** The spawned gateway, started again if an earlier case took it down (so failures do not cascade). */
  async function running(): Promise<GatewayProcess> {
    if (process && (await isHealthy(process))) return process;
    await process?.stop('SIGKILL');
    process = await startGatewayProcess({
      config: {
        server: { maxResponseBytes },
        providers: {
          local: {
            type: 'openai-compatible',
            baseUrl: fake.url,
            apiKeyEnv: 'LOCAL_KEY',
            models: ['echo', ...localScenarios],
            timeouts: faultTimeouts,
          },
          refused: {
            type: 'openai-compatible',
            baseUrl: `http://127.0.0.1:${closedPort}/v1`,
            apiKey: 'refused-provider-key',
            models: ['echo'],
          },
        },
      },
      env: {
        MANIAC_INTERNAL_KEY: internalKey,
        MANIAC_DATABASE_URL: `sqlite:${join(dataDir, `maniac-${Date.now()}.db`)}`,
        LOCAL_KEY: 'local-provider-secret-key',
      },
    });
    return process;
  }

  beforeAll(async () => {
    fake = await FakeUpstream.start({ formats: allFakeFormats, oversizedBytes: 2 * maxResponseBytes });
    dataDir = mkdtempSync(join(tmpdir(), 'maniac-faults-'));
    await running();
  });

  afterAll(async () => {
    await process?.stop();
    await fake?.close();
  });

  async function isHealthy(gatewayProcess: GatewayProcess): Promise<boolean> {
    const status = await fetch(`${gatewayProcess.url}/healthz`, { signal: AbortSignal.timeout(hangMs) })
      .then((response) => response.status)
      .catch(() => 0);
    return status === 200 && gatewayProcess.child.exitCode === null;
  }

  const cases = faults.flatMap((fault) => (['plain', 'streamed'] as const).map((mode) => ({ fault, mode })));
  for (const { fault, mode } of cases) {
    it(`${fault.name} (${mode})`, async () => {
      const gatewayProcess = await running();
      const ask = (model: string) =>
        fetch(`${gatewayProcess.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${internalKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model,
            stream: mode === 'streamed',
            messages: [{ role: 'user', content: 'ping' }],
          }),
          signal: AbortSignal.timeout(hangMs),
        }).then(
          async (response) => `${response.status} ${(await response.text()).slice(0, 200)}`,
          (error: unknown) => `no answer: ${String(error)}`,
        );
      const answer = await ask(fault.model);
      const next = await ask('local/echo');
      const context = `after ${fault.name} (${mode}) (${answer}):\n${gatewayProcess.stderr().slice(-2000)}`;
      expect(next.slice(0, 3), context).toBe('200');
      expect(await isHealthy(gatewayProcess), context).toBe(true);
      expect(gatewayProcess.child.exitCode).toBeNull();
    });
  }
});
