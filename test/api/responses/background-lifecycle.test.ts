import { describe, expect, it } from 'vitest';
import type { Store } from '#src/store/repositories.js';
import { createTenant } from '../../support/tenants.js';
import {
  chunkLine,
  createResponse,
  openEventStream,
  startResponsesGateway,
  usageLine,
} from './responses-fixture.js';

// USD per token: 1 µ$ in, 2 µ$ out.
const priced = {
  id: 'local/priced',
  provider: 'local',
  upstream_model: 'controlled',
  max_output_tokens: 100,
  pricing: { input: 0.000001, output: 0.000002 },
};

describe('background billing (SPEC §12.3, §8)', () => {
  it('reserves at creation (402 at once when short), holds it while the job runs, settles it from the job', async () => {
    const gateway = await startResponsesGateway({
      billing: { mode: 'prepaid' },
      models: [priced],
      telemetry: { flushIntervalMs: 3_600_000 },
    });
    try {
      const tenant = await createTenant(gateway.app.store);
      const broke = await createResponse(
        gateway,
        { model: 'local/priced', input: 'x', background: true },
        tenant.headers,
      );
      expect(broke.status).toBe(402);
      expect(broke.body).toMatchObject({ error: { code: 'billing_not_configured' } });
      await gateway.app.store.billing.addCredits({
        orgId: tenant.orgId,
        amountMicros: 1_000_000,
        now: Date.now(),
      });

      const upstreamCalled = gateway.fake.nextControlled();
      const created = await createResponse(
        gateway,
        { model: 'local/priced', input: 'x', background: true },
        tenant.headers,
      );
      expect(created.body.status).toBe('queued');
      const upstream = await upstreamCalled;
      await gateway.app.flushTelemetry();
      // The creating request's event has settled: the reservation is still held for the job.
      // SQLite: the gateway holds reservations in memory (decision 0011).
      expect(gateway.app.billing.heldMicros(tenant.orgId)).toBeGreaterThan(0);
      const creation = gateway.finished.find(
        (finished) => finished.record.endpoint === 'responses.background',
      );
      expect(creation?.record.reservation).toBeUndefined();

      const events = await openEventStream(
        gateway,
        { path: `/v1/responses/${created.body.id}?stream=true` },
        tenant.headers,
      );
      upstream.send(chunkLine({ role: 'assistant', content: 'ok' }, 'stop'));
      upstream.send(usageLine(10, 5));
      upstream.end();
      await events.all();
      const job = gateway.finished.find((finished) => finished.record.eventId === created.body.id);
      expect(job?.record.reservation).toBeDefined();
      expect(job?.record.costMicros).toBe(10 * 1 + 5 * 2);
      await gateway.app.flushTelemetry();
      const settled = await gateway.app.store.billing.getBalance(tenant.orgId);
      expect(settled).toMatchObject({ reservedMicros: 0, balanceMicros: 1_000_000 - 20 });
      expect(gateway.app.billing.heldMicros(tenant.orgId)).toBe(0);
    } finally {
      await gateway.close();
    }
  });
});

describe('shutdown (SPEC §12.3, §13.5)', () => {
  it('fails jobs still running at the drain deadline with shutting_down; unclaimed jobs stay queued', async () => {
    let store: Store | undefined;
    const gateway = await startResponsesGateway(
      { background: { concurrency: 1, maxQueued: 10 }, shutdown: { drainTimeoutMs: 200 } },
      {
        wrapStore: (inner) => {
          store = inner;
          return inner;
        },
      },
    );
    try {
      const tenant = await createTenant(gateway.app.store);
      const upstreamCalled = gateway.fake.nextControlled();
      const running = await createResponse(
        gateway,
        { model: 'local/controlled', input: 'x', background: true },
        tenant.headers,
      );
      const upstream = await upstreamCalled;
      const queued = await createResponse(
        gateway,
        { model: 'local/controlled', input: 'y', background: true },
        tenant.headers,
      );
      const events = await openEventStream(
        gateway,
        { path: `/v1/responses/${running.body.id}?stream=true` },
        tenant.headers,
      );
      upstream.send(chunkLine({ role: 'assistant', content: 'Partial' }));
      await events.until('response.output_text.delta');
      const closed = gateway.app.close();
      const seen = await events.all();
      await closed;
      expect(seen.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
      expect(seen.at(-2)).toMatchObject({ code: 'shutting_down' });
      const failed = await store?.responses.get(tenant.orgId, running.body.id);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'shutting_down' } });
      expect((failed?.response as { output_text?: string } | undefined)?.output_text).toBe('Partial');
      expect((await store?.responses.get(tenant.orgId, queued.body.id))?.status).toBe('queued');
      const job = gateway.finished.find((finished) => finished.record.eventId === running.body.id);
      expect(job?.record).toMatchObject({ outcome: 'stream_error', errorCode: 'shutting_down' });
    } finally {
      await gateway.close().catch(() => undefined);
    }
  });
});

describe('shutdown of a foreground stream (SPEC §13.5)', () => {
  it('ends it at the drain deadline with error shutting_down then response.failed, stored failed', async () => {
    const gateway = await startResponsesGateway({ shutdown: { drainTimeoutMs: 100 } });
    try {
      const opened = openEventStream(gateway, { body: { model: 'local/controlled', input: 'x' } });
      const upstream = await gateway.fake.nextControlled();
      upstream.send(chunkLine({ role: 'assistant', content: 'Partial' }));
      const stream = await opened;
      await stream.until('response.output_text.delta');
      const closed = gateway.app.close();
      const events = await stream.all();
      await closed;
      expect(events.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
      expect(events.at(-2)).toMatchObject({ code: 'shutting_down', param: null });
      expect(events.at(-1)).toMatchObject({
        response: { status: 'failed', output_text: 'Partial', error: { code: 'shutting_down' } },
      });
      const finished = gateway.finished.find((request) => request.record.endpoint === 'responses');
      expect(finished?.record).toMatchObject({ outcome: 'stream_error', errorCode: 'shutting_down' });
    } finally {
      await gateway.close().catch(() => undefined);
    }
  });
});
