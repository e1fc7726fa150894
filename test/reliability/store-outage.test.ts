import { once } from 'node:events';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay, setImmediate as nextTurn } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allFakeFormats } from '#src/fake-upstream/all-formats.js';
import { FakeUpstream } from '#src/fake-upstream/fake-upstream.js';
import { createStore } from '#src/store/create-store.js';
import type { Store } from '#src/store/repositories.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import {
  createTestSchema,
  type GatewayProcess,
  startGatewayProcess,
  testDatabaseUrl,
  testRedisUrl,
} from '../support/gateway-process.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createTenant, type Tenant } from '../support/tenants.js';

/**
 * Issue point 3: the store goes away under load and comes back (SPEC §10 write path, §13.3
 * readiness, LESSONS 9). A TcpProxy sits between the gateway and PostgreSQL (and Redis); the test
 * reads the database directly, never through the proxy.
 */

let fake: FakeUpstream;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let store: Store;
let database: pg.Client;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let proxiedDatabaseUrl: string;
let run = 0;

beforeAll(async () => {
  fake = await FakeUpstream.start({ formats: allFakeFormats });
  schema = await createTestSchema();
  store = await createStore(schema.url);
  database = new pg.Client({ connectionString: schema.url });
  await database.connect();
  const postgres = new URL(testDatabaseUrl);
  pgProxy = await TcpProxy.start(postgres.hostname, Number(postgres.port || 5432));
  const proxied = new URL(schema.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(pgProxy.port);
  proxiedDatabaseUrl = proxied.toString();
  const redis = new URL(testRedisUrl);
  redisProxy = await TcpProxy.start(redis.hostname, Number(redis.port || 6379));
}, 30_000);

afterEach(() => {
  pgProxy.restore();
  redisProxy.restore();
});

afterAll(async () => {
  await pgProxy?.close();
  await redisProxy?.close();
  await database?.end();
  await store?.close();
  await schema?.drop();
  await fake?.close();
});

const localProvider = () => ({
  type: 'openai-compatible',
  baseUrl: fake.url,
  apiKeyEnv: 'LOCAL_KEY',
  models: ['echo'],
});

/** Events stored for `orgId` whose request id starts with `prefix`: request id → rows. */
async function storedEvents(orgId: string, prefix: string): Promise<Map<string, number>> {
  const { rows } = await database.query<{ request_id: string; rows: number }>(
    `select request_id, count(*)::int as rows from request_events
      where org_id = $1 and request_id like $2 group by request_id`,
    [orgId, `${prefix}%`],
  );
  return new Map(rows.map((row) => [row.request_id, row.rows]));
}

/**
 * Polls the database until `expected` events of the prefix are stored (or `timeoutMs` passed): the
 * writer's recovery runs on its own back-off, so the test waits for the condition, bounded.
 */
async function waitForEvents(orgId: string, prefix: string, expected: number, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  let events = await storedEvents(orgId, prefix);
  while (events.size < expected && performance.now() < deadline) {
    await delay(100);
    events = await storedEvents(orgId, prefix);
  }
  return events;
}

/**
 * Waits until the in-process gateway has finished `count` requests: each one's event is enqueued
 * just after its answer goes out, so a client can see the answer a moment before (bounded).
 */
async function finishedRequests(gateway: TestGateway, count: number): Promise<void> {
  for (let turn = 0; turn < 10_000 && gateway.finished.length < count; turn++) await nextTurn();
  expect(gateway.finished.length).toBeGreaterThanOrEqual(count);
}

function chat(url: string, tenant: Tenant, requestId: string, isStream = false) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...tenant.headers, 'x-request-id': requestId },
    body: JSON.stringify({
      model: 'local/echo',
      stream: isStream,
      messages: [{ role: 'user', content: `request ${requestId}` }],
    }),
    signal: AbortSignal.timeout(10_000),
  }).then(async (response) => ({
    status: response.status,
    headers: response.headers,
    text: await response.text(),
  }));
}

/** Sends `count` requests, `concurrency` at a time; returns the statuses in order. */
async function load(
  count: number,
  concurrency: number,
  send: (index: number) => Promise<{ status: number }>,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let start = 0; start < count; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - start) }, (_, offset) =>
      send(start + offset),
    );
    for (const result of await Promise.all(batch)) statuses.push(result.status);
  }
  return statuses;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
    total += Number(match[1]);
  return total;
}

async function readiness(url: string) {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
}

function spoolBytes(dir: string): number {
  return readdirSync(dir)
    .filter((name) => name.startsWith('segment-'))
    .reduce((total, name) => total + statSync(join(dir, name)).size, 0);
}

function prefixFor(label: string): string {
  run += 1;
  return `${label}-${process.pid}-${run}-`;
}

describe('PostgreSQL outage (SPEC §10, LESSONS 9)', () => {
  let gateway: TestGateway | undefined;
  afterEach(async () => {
    pgProxy.restore();
    await gateway?.close();
    gateway = undefined;
  });

  it('keeps serving known keys under load, spools every event, writes each exactly once on recovery', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'maniac-spool-'));
    gateway = await startTestGateway({
      upstream: fake,
      env: { MANIAC_DATABASE_URL: proxiedDatabaseUrl },
      file: {
        storage: { spoolDir },
        // Every lookup asks the store, so the outage is served by stale-if-error, not a fresh entry.
        auth: { cacheTtlSeconds: 0 },
        telemetry: { flushIntervalMs: 50 },
        providers: { local: localProvider() },
      },
    });
    const tenant = await createTenant(store);
    const unseen = await createTenant(store);
    const prefix = prefixFor('pg-outage');
    expect((await chat(gateway.url, tenant, `${prefix}warm`)).status).toBe(200);
    await gateway.app.flushTelemetry();
    expect((await storedEvents(tenant.orgId, prefix)).size).toBe(1);

    pgProxy.cut();
    const count = 48;
    const statuses = await load(count, 8, (index) =>
      chat(gateway?.url as string, tenant, `${prefix}${index}`, index % 2 === 1),
    );
    expect(statuses).toEqual(Array(count).fill(200));
    // Fail-closed for a key the cache cannot vouch for; no permanent 401 afterwards.
    const refused = await chat(gateway.url, unseen, `${prefix}unseen-during`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text).error.code).toBe('auth_unavailable');

    // Everything enqueued is durable in the local spool; none of it reached the database.
    await finishedRequests(gateway, count + 2);
    await gateway.app.flushTelemetry();
    expect(spoolBytes(spoolDir)).toBeGreaterThan(0);
    expect(await metric(gateway.url, 'maniac_telemetry_spooled_events_total')).toBeGreaterThanOrEqual(
      count + 1,
    );
    expect((await storedEvents(tenant.orgId, prefix)).size).toBe(1);
    const degraded = await readiness(gateway.url);
    expect(degraded.status).toBe(200);
    expect(degraded.body.checks.storage).toBe('degraded');

    pgProxy.restore();
    const events = await waitForEvents(tenant.orgId, prefix, count + 1, 20_000);
    expect(events.size).toBe(count + 1);
    expect([...events.values()].every((rows) => rows === 1)).toBe(true);
    for (let index = 0; index < count; index++) expect(events.get(`${prefix}${index}`)).toBe(1);
    expect(await metric(gateway.url, 'maniac_telemetry_dropped_events_total')).toBe(0);
    expect((await readiness(gateway.url)).body.checks.storage).toBe('ok');
    expect((await chat(gateway.url, unseen, `${prefix}unseen-after`)).status).toBe(200);

    // Writes go on after the outage (the last replay may still route this one through the spool),
    // nothing was doubled, and the spool empties.
    expect((await chat(gateway.url, tenant, `${prefix}after`)).status).toBe(200);
    await gateway.app.flushTelemetry();
    const final = await waitForEvents(tenant.orgId, prefix, count + 2, 10_000);
    expect(final.get(`${prefix}after`)).toBe(1);
    expect([...final.values()].every((rows) => rows === 1)).toBe(true);
    await gateway.close();
    gateway = undefined;
    expect(spoolBytes(spoolDir)).toBe(0);
  });

  it('bounds the spool: past it and the memory queue, events are dropped and counted, never blocking', async () => {
    const queueMax = 5;
    gateway = await startTestGateway({
      upstream: fake,
      env: { MANIAC_DATABASE_URL: proxiedDatabaseUrl },
      file: {
        storage: { spoolDir: mkdtempSync(join(tmpdir(), 'maniac-spool-')) },
        telemetry: { flushIntervalMs: 50, spoolMaxBytes: 1, queueMax },
        providers: { local: localProvider() },
      },
    });
    const tenant = await createTenant(store);
    const prefix = prefixFor('pg-full');
    expect((await chat(gateway.url, tenant, `${prefix}warm`)).status).toBe(200);
    await gateway.app.flushTelemetry();

    pgProxy.cut();
    const count = 20;
    const statuses = await load(count, 1, (index) =>
      chat(gateway?.url as string, tenant, `${prefix}${index}`),
    );
    expect(statuses).toEqual(Array(count).fill(200));
    await finishedRequests(gateway, count + 1);
    const dropped = await metric(gateway.url, 'maniac_telemetry_dropped_events_total');
    expect(dropped).toBe(count - queueMax);

    pgProxy.restore();
    const events = await waitForEvents(tenant.orgId, prefix, queueMax + 1, 20_000);
    expect(events.size).toBe(queueMax + 1);
    expect([...events.values()].every((rows) => rows === 1)).toBe(true);
    expect(await metric(gateway.url, 'maniac_telemetry_dropped_events_total')).toBe(count - queueMax);
  });

  it('the spool survives a restart: SIGTERM during the outage spools, the next process replays once', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'maniac-spool-'));
    const config = {
      storage: { spoolDir },
      // Nothing is written before shutdown: SIGTERM itself must spool the queue.
      telemetry: { flushIntervalMs: 3_600_000 },
      providers: { local: localProvider() },
    };
    const env = { MANIAC_DATABASE_URL: proxiedDatabaseUrl, LOCAL_KEY: 'local-provider-secret-key' };
    const tenant = await createTenant(store);
    const prefix = prefixFor('pg-restart');
    const first = await startGatewayProcess({ config, env });
    try {
      expect((await chat(first.url, tenant, `${prefix}warm`)).status).toBe(200);
      pgProxy.cut();
      const count = 20;
      const statuses = await load(count, 4, (index) => chat(first.url, tenant, `${prefix}${index}`));
      expect(statuses).toEqual(Array(count).fill(200));
      expect(await first.stop('SIGTERM'), first.stderr()).toBe(0);
      expect(spoolBytes(spoolDir)).toBeGreaterThan(0);
      expect((await storedEvents(tenant.orgId, prefix)).size).toBe(0);

      pgProxy.restore();
      const second = await startGatewayProcess({ config, env });
      try {
        const events = await waitForEvents(tenant.orgId, prefix, count + 1, 20_000);
        expect(events.size, second.stderr()).toBe(count + 1);
        expect([...events.values()].every((rows) => rows === 1)).toBe(true);
        expect(await second.stop('SIGTERM')).toBe(0);
        expect(spoolBytes(spoolDir)).toBe(0);
        expect(await storedEvents(tenant.orgId, prefix)).toEqual(events);
      } finally {
        await second.stop('SIGKILL');
      }
    } finally {
      await first.stop('SIGKILL');
    }
  }, 60_000);

  it('a second SIGTERM while the database is a black hole spools at once and exits; nothing is lost', async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'maniac-spool-'));
    const config = {
      storage: { spoolDir },
      telemetry: { flushIntervalMs: 3_600_000 },
      providers: { local: localProvider() },
    };
    const env = { MANIAC_DATABASE_URL: proxiedDatabaseUrl, LOCAL_KEY: 'local-provider-secret-key' };
    const tenant = await createTenant(store);
    const prefix = prefixFor('pg-blackhole');
    const first = await startGatewayProcess({ config, env });
    try {
      expect((await chat(first.url, tenant, `${prefix}warm`)).status).toBe(200);
      // Connections are accepted and never answered: writes hang instead of failing.
      pgProxy.cut('stall');
      const count = 10;
      const statuses = await load(count, 5, (index) => chat(first.url, tenant, `${prefix}${index}`));
      expect(statuses).toEqual(Array(count).fill(200));
      const exited = new Promise<number | null>((resolve) => first.child.once('exit', resolve));
      first.child.kill('SIGTERM');
      await waitUntilNotListening(first);
      const secondSignalAt = performance.now();
      first.child.kill('SIGTERM');
      const code = await Promise.race([exited, delay(4_000).then(() => 'still running')]);
      expect(code, first.stderr()).toBe(0);
      expect(performance.now() - secondSignalAt).toBeLessThan(4_000);
      expect(spoolBytes(spoolDir)).toBeGreaterThan(0);

      pgProxy.restore();
      const second = await startGatewayProcess({ config, env });
      try {
        const events = await waitForEvents(tenant.orgId, prefix, count + 1, 20_000);
        expect(events.size, second.stderr()).toBe(count + 1);
        expect([...events.values()].every((rows) => rows === 1)).toBe(true);
      } finally {
        await second.stop('SIGKILL');
      }
    } finally {
      pgProxy.restore();
      await first.stop('SIGKILL');
    }
  }, 60_000);
});

/** Resolves once the process stopped listening, the first thing it does on SIGTERM (bounded). */
async function waitUntilNotListening(gatewayProcess: GatewayProcess): Promise<void> {
  const { hostname, port } = new URL(gatewayProcess.url);
  for (let attempt = 0; attempt < 200; attempt++) {
    const socket = connect({ host: hostname, port: Number(port) });
    const connected = await Promise.race([
      once(socket, 'connect').then(() => true),
      once(socket, 'error').then(() => false),
    ]).catch(() => false);
    socket.destroy();
    if (!connected) return;
    await delay(20);
  }
  throw new Error('the gateway kept listening after SIGTERM');
}

/**
 * Sends requests (bounded) until one is counted by the limiter (`remaining < limit`, not the
 * fail-open answer); returns the limit. Fails if Redis is not used within 15 s.
 */
async function untilCounted(url: string, tenant: Tenant, requestId: string): Promise<number> {
  const deadline = performance.now() + 15_000;
  for (let attempt = 0; performance.now() < deadline; attempt++) {
    const answer = await chat(url, tenant, `${requestId}-${attempt}`);
    expect(answer.status).toBe(200);
    const limit = Number(answer.headers.get('x-ratelimit-limit'));
    if (Number(answer.headers.get('x-ratelimit-remaining')) < limit) return limit;
    await delay(100);
  }
  throw new Error('the rate limiter never reached Redis');
}

describe('Redis outage (SPEC §7 fail-open, §13.3)', () => {
  it('lets requests through, counts each in maniac_ratelimit_fail_open_total, reports degraded, recovers', async () => {
    const gateway = await startTestGateway({
      upstream: fake,
      env: { MANIAC_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` },
      file: { providers: { local: localProvider() } },
    });
    try {
      const tenant = await createTenant(gateway.app.store);
      const prefix = prefixFor('redis');
      // The limiter's Redis connection opens in the background; until it is up, checks fail open.
      const limit = await untilCounted(gateway.url, tenant, `${prefix}warm`);
      expect((await readiness(gateway.url)).body.checks.ratelimit).toBe('ok');
      const failOpenBefore = await metric(gateway.url, 'maniac_ratelimit_fail_open_total');

      redisProxy.cut();
      const count = 12;
      const statuses = await load(count, 4, (index) => chat(gateway.url, tenant, `${prefix}${index}`));
      expect(statuses).toEqual(Array(count).fill(200));
      // A fail-open answer reports the bucket untouched (SPEC §7).
      const failedOpen = await chat(gateway.url, tenant, `${prefix}open`);
      expect(failedOpen.status).toBe(200);
      expect(failedOpen.headers.get('x-ratelimit-remaining')).toBe(String(limit));
      expect(await metric(gateway.url, 'maniac_ratelimit_fail_open_total')).toBe(failOpenBefore + count + 1);
      const degraded = await readiness(gateway.url);
      expect(degraded.status).toBe(200);
      expect(degraded.body.checks.ratelimit).toBe('degraded');

      // Back: once Redis answers again the limiter counts again and readiness says so.
      redisProxy.restore();
      await untilCounted(gateway.url, tenant, `${prefix}after`);
      expect((await readiness(gateway.url)).body.checks.ratelimit).toBe('ok');
    } finally {
      redisProxy.restore();
      await gateway.close();
    }
  });
});
